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
void QuantizeQ5_K(const float* x, uint8_t* out, size_t nb);
void DequantizeQ5_K(const uint8_t* in, float* y, size_t nb);
void QuantizeQ3_K(const float* x, uint8_t* out, size_t nb);
void DequantizeQ3_K(const uint8_t* in, float* y, size_t nb);
void QuantizeQ2_K(const float* x, uint8_t* out, size_t nb);
void DequantizeQ2_K(const uint8_t* in, float* y, size_t nb);

// ggml's quantize_<type> with an importance matrix: one row of n values (a multiple of the
// block), `importance` holding one weight per column of the row. Q4_0 needs the whole row
// (its weights use the row's mean square), so these take rows, not blocks.
void QuantizeRowQ4_0Weighted(const float* x, const float* importance, uint8_t* out, size_t n);
void QuantizeRowQ2_KWeighted(const float* x, const float* importance, uint8_t* out, size_t n);
void QuantizeRowQ3_KWeighted(const float* x, const float* importance, uint8_t* out, size_t n);
void QuantizeRowQ4_KWeighted(const float* x, const float* importance, uint8_t* out, size_t n);
void QuantizeRowQ5_KWeighted(const float* x, const float* importance, uint8_t* out, size_t n);
void QuantizeRowQ6_KWeighted(const float* x, const float* importance, uint8_t* out, size_t n);

// The K-quant quantizers in two halves. A search finds each sub-block's scale (and for Q4_K its
// min, positive meaning subtracted) and codes; the finish quantizes those scales into the block
// header, requantizes against the stored scales and packs one block. The library searches in
// SIMD lanes (kernels_k_quants.cpp); the scalar searches (kernels_k_quants_scalar.cpp) are the
// readable reference, kept to cross-check the lanes (tests/quant/ggml_kernels_test.cpp).
void FinishQ4_K(const float* x, uint8_t* L, const float* scales, const float* mins,
                uint8_t* out_block);
void FinishQ5_K(const float* x, uint8_t* L, const float* scales, const float* mins,
                uint8_t* out_block);
void FinishQ6_K(const float* x, int8_t* L, const float* scales, uint8_t* out_block);
void SearchQ6_KScalar(const float* x, int8_t* L, float* scales);
void QuantizeQ4_KScalar(const float* x, uint8_t* out, size_t nb);
void QuantizeQ5_KScalar(const float* x, uint8_t* out, size_t nb);
void QuantizeQ6_KScalar(const float* x, uint8_t* out, size_t nb);

// Q4_K and Q5_K search 8 sub-blocks of 32 with make_qkx2_quants (rdelta 0.1, squared error,
// weights rms + |x|); they differ in these parameters.
struct Qkx2Search {
  int nmax;
  float rmin;
  int nstep;
};
inline constexpr Qkx2Search kQ4_KSearch{15, -1.0f, 20};
inline constexpr Qkx2Search kQ5_KSearch{31, -0.5f, 15};
// Scales, mins (positive = subtracted) and codes of one super-block's 8 sub-blocks, in lanes
// (SearchSub32) or one sub-block at a time (SearchSub32Scalar); the results are identical.
void SearchSub32(const float* x, Qkx2Search p, uint8_t* L, float* scales, float* mins);
void SearchSub32Scalar(const float* x, Qkx2Search p, uint8_t* L, float* scales, float* mins);

// The leading 16 bytes of BlockQ4_K and BlockQ5_K (kernels_k4_header.cpp).
struct K4Header {
  uint16_t d;     // f16 scale of the 6-bit sub-block scales
  uint16_t dmin;  // f16 scale of the 6-bit sub-block mins
  uint8_t scales[12];
};
static_assert(sizeof(K4Header) == 16);
// quantize_row_q{4,5}_K_ref's header: d = max scale / 63, dmin = max min / 63.
K4Header MakeK4Header(const float* scales, const float* mins);
// A header from 6-bit codes already chosen (the importance-weighted path).
K4Header PackK4Header(const uint8_t* ls, const uint8_t* lm, float d, float dmin);
// Codes in [0, nmax] recomputed against the header's stored scales and mins.
void RequantizeK4(const float* x, const K4Header& h, int nmax, uint8_t* L);
void PackQ4_K(const K4Header& h, const uint8_t* L, uint8_t* out_block);
// The 256 values of a Q4_K (qh == nullptr) or Q5_K block (qh: the fifth bits) from its header and
// codes.
void DecodeK4(const K4Header& h, const uint8_t* qs, const uint8_t* qh, float* y);
// Q2_K and Q3_K block finishes, shared by the plain and importance-weighted quantizers: store
// the header, requantize the codes L (code + 4 for Q3_K) against the stored scales, pack.
// Q2_K takes the 16 packed scale/min bytes; Q3_K the 16 6-bit scale codes (scale + 32).
void FinishQ2_K(const float* x, uint8_t* L, const uint8_t* scales, uint16_t d, uint16_t dmin,
                uint8_t* out_block);
void FinishQ3_K(const float* x, int8_t* L, const uint8_t* scale_codes, float d, uint8_t* out_block);
void PackQ5_K(const K4Header& h, const uint8_t* L, uint8_t* out_block);

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
