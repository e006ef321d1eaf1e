// Small f32 kernels of the forward pass (llama2.c style: each a few lines, no allocation).
//
// Weights may be stored as F32, BF16 or F16; ConvertToF32 widens a run of them. Dot, Axpy and
// the conversions use AVX2/FMA/F16C when the CPU has them (checked once at run time) and plain
// loops otherwise, so the library needs no -march flag.
#pragma once

#include <cstdint>

#include "quant/dtype.h"

namespace moedist {

// True for the weight dtypes runtime-min computes with (F32, BF16, F16).
bool IsRuntimeWeightDType(DType dtype);
// dst[0..n) = src[0..n) widened to f32 (exact). `src` need not be aligned. Scalar values:
// quant/half_float.h.
void ConvertToF32(const uint8_t* src, DType dtype, int64_t n, float* dst);

float Dot(const float* a, const float* b, int64_t n);
// y += a * x
void Axpy(float a, const float* x, float* y, int64_t n);

// out = x / sqrt(mean(x²) + eps) * weight (weight may be null: Llama-4's weightless L2 norm).
// `out` may alias `x`.
void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* out);
// In-place softmax over n values; -inf entries get probability 0.
void SoftmaxInPlace(float* x, int64_t n);
float Sigmoid(float x);
// out[i] = silu(gate[i]) * up[i]
void SiluMul(const float* gate, const float* up, int64_t n, float* out);

}  // namespace moedist
