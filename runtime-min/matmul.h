// MatMul: y = x · W for activations x [n, in] and a WeightMatrix W (in → out), all f32 compute.
//
// Two paths, chosen by n (the number of token rows):
//   n < kGemmMinRows (decode, small expert batches): threads split W's stored rows; each row is
//     decoded to f32 once into a per-thread buffer and used for all n tokens. Memory-bound, so
//     reading bf16 (or q8_0, q4_k, ...) straight from the mapping cuts the traffic of an f32
//     copy by 2x (or 3.8x, 7x, ...).
//   n >= kGemmMinRows (prefill): OpenBLAS sgemm. F32 weights are passed straight from the
//     mapping; BF16/F16 weights are widened, and block-quantized weights dequantized, a block of
//     output features at a time (at most kConvertBlockFloats floats) into a reused buffer, so
//     memory stays bounded whatever the model size, and no whole-model f32 copy is ever made.
// Decoding is weight_matrix.h's DecodeWeightRow (quant/'s DequantizeRow for block types), so
// both paths compute with exactly the values quant/ dequantizes.
// Thread safety: call from one thread at a time (it uses the default thread pool).
#pragma once

#include <cstdint>

#include "runtime-min/weight_matrix.h"

namespace moedist {

inline constexpr int64_t kGemmMinRows = 8;
inline constexpr int64_t kConvertBlockFloats = int64_t{4} << 20;  // 16 MiB of f32

// y[n, w.out] = x[n, w.in] · W. `y` must not alias `x`.
void MatMul(const float* x, int64_t n, const WeightMatrix& w, float* y);
// The two paths, exposed for tests and the benchmark.
void MatMulRowwise(const float* x, int64_t n, const WeightMatrix& w, float* y);
void MatMulGemm(const float* x, int64_t n, const WeightMatrix& w, float* y);

}  // namespace moedist
