// Unchecked per-format kernels behind quant/quantize.h; internal to quant/. Each works on `nb`
// whole blocks of its type, reading and writing raw bytes (blocks are copied in and out of
// aligned locals, so callers' buffers need no alignment). Inputs are already validated: finite
// values, sizes that match.
//
// The quantizers reproduce ggml's quantize_row_*_ref arithmetic operation for operation, which
// is what makes their output byte-identical (tests/quant/ggml_identity_test.cpp); this library
// is compiled with -ffp-contract=off so no multiply-add is fused where ggml's did not fuse.
#pragma once

#include <cstddef>
#include <cstdint>

namespace moedist::kernels {

void QuantizeQ8_0(const float* x, uint8_t* out, size_t nb);
void DequantizeQ8_0(const uint8_t* in, float* y, size_t nb);
void QuantizeQ4_0(const float* x, uint8_t* out, size_t nb);
void DequantizeQ4_0(const uint8_t* in, float* y, size_t nb);
void QuantizeQ4_K(const float* x, uint8_t* out, size_t nb);
void DequantizeQ4_K(const uint8_t* in, float* y, size_t nb);
void QuantizeQ6_K(const float* x, uint8_t* out, size_t nb);
void DequantizeQ6_K(const uint8_t* in, float* y, size_t nb);

// The K-quant quantizers in two halves. A search finds each sub-block's scale (and for Q4_K its
// min, positive meaning subtracted) and codes; the finish quantizes those scales into the block
// header, requantizes against the stored scales and packs one block. The library searches in
// SIMD lanes (kernels_k_quants.cpp); the scalar searches (kernels_k_quants_scalar.cpp) are the
// readable reference, kept to cross-check the lanes (tests/quant/ggml_kernels_test.cpp).
void FinishQ4_K(const float* x, uint8_t* L, const float* scales, const float* mins,
                uint8_t* out_block);
void FinishQ6_K(const float* x, int8_t* L, const float* scales, uint8_t* out_block);
void SearchQ4_KScalar(const float* x, uint8_t* L, float* scales, float* mins);
void SearchQ6_KScalar(const float* x, int8_t* L, float* scales);
void QuantizeQ4_KScalar(const float* x, uint8_t* out, size_t nb);
void QuantizeQ6_KScalar(const float* x, uint8_t* out, size_t nb);

// Below this a group is treated as all zeros (ggml's GROUP_MAX_EPS).
inline constexpr float kGroupMaxEps = 1e-15f;

// ggml's nearest_int: adding 1.5 * 2^23 leaves round-to-nearest-even(v) in the low mantissa
// bits for |v| < 2^22. Outside that range ggml gets garbage, and so must we, bit for bit.
inline int NearestInt(float v) {
  const float biased = v + 12582912.0f;
  int32_t bits;
  __builtin_memcpy(&bits, &biased, sizeof bits);
  return (bits & 0x007FFFFF) - 0x00400000;
}

// ggml converts float to int8_t with a plain C cast, which x86-64 compiles to a 32-bit
// truncating conversion (cvttss2si) whose low byte is kept; out-of-range values, infinities and
// NaN give 0x80000000, low byte 0. That cast is undefined behaviour in C++, so spell out what
// the hardware does.
inline int8_t TruncToInt8(float v) {
  if (!(v > -2147483904.0f && v < 2147483648.0f)) return 0;
  return static_cast<int8_t>(static_cast<int32_t>(v));
}

// TruncToInt8(roundf(v)) without the libm call (baseline x86-64 has no rounding instruction):
// round half away from zero. v - trunc(v) is exact for every float in int32 range, so the
// comparison with 0.5 decides exactly as roundf does.
inline int8_t RoundToInt8(float v) {
  if (!(v > -2147483904.0f && v < 2147483648.0f)) return 0;
  int32_t i = static_cast<int32_t>(v);
  const float frac = v - static_cast<float>(i);
  if (frac >= 0.5f) ++i;
  if (frac <= -0.5f) --i;
  return static_cast<int8_t>(i);
}

}  // namespace moedist::kernels
