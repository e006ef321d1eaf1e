// Importance-weighted quantizers: ggml's quantize_{q4_0,q2_K,q3_K,q4_K,q5_K,q6_K} when given an
// importance matrix (llama.cpp's imatrix: one weight per column, the mean square of the
// activations that column meets). Each value's error is weighted by importance[col] *
// sqrt(sigma2 + x²), sigma2 being the mean square of the super-block (of the whole row for Q4_0;
// doubled for Q3_K, Q4_K and Q5_K, as ggml has it), and the K-quants then choose their sub-block
// scales with a weighted search (make_qp_quants / make_qx_quants) instead of max / nmax.
// Q6_K weights by the importance alone. Operation order is ggml's: see k_quant_search.h.
#include <cmath>
#include <cstring>

#include "quant/ggml_blocks.h"
#include "quant/ggml_kernels.h"
#include "quant/half_float.h"
#include "quant/k_quant_search.h"

namespace moedist::kernels {
namespace {

float SumSquares(const float* x, size_t n) {
  float sum = 0;
  for (size_t i = 0; i < n; ++i) sum += x[i] * x[i];
  return sum;
}

// weights[l] = importance[l] * sqrt(sigma2 + x[l]²) for l < n; returns their sum.
float ValueWeights(const float* x, const float* importance, float sigma2, int n, float* weights) {
  float sum = 0;
  for (int l = 0; l < n; ++l) weights[l] = importance[l] * std::sqrt(sigma2 + x[l] * x[l]);
  for (int l = 0; l < n; ++l) sum += weights[l];
  return sum;
}

// Q4_K (nmax 15) and Q5_K (nmax 31): make_qkx3_quants per sub-block of 32 (rmin -0.9, rdelta
// 0.05, 37 steps), then the 8 scales and 8 mins as 6-bit codes by make_qp_quants.
void QuantizeRowK4Weighted(const float* x, const float* importance, uint8_t* out, size_t n,
                           int nmax, size_t block_bytes) {
  for (size_t i = 0; i < n / kQkK; ++i, x += kQkK, importance += kQkK, out += block_bytes) {
    uint8_t L[kQkK];
    uint8_t Laux[32];
    float weights[32];
    float sw[kQkK / 32];
    float scales[kQkK / 32];
    float mins[kQkK / 32];
    const float sigma2 = 2 * SumSquares(x, kQkK) / kQkK;
    for (int j = 0; j < kQkK / 32; ++j) {
      sw[j] = ValueWeights(x + 32 * j, importance + 32 * j, sigma2, 32, weights);
      scales[j] = MakeQkx2Quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f,
                                 0.05f, 36, false);
    }
    uint8_t ls[kQkK / 32];
    uint8_t lm[kQkK / 32];
    const float d_block = MakeQpQuants(kQkK / 32, 63, scales, ls, sw);
    const float m_block = MakeQpQuants(kQkK / 32, 63, mins, lm, sw);
    const K4Header h = PackK4Header(ls, lm, d_block, m_block);
    RequantizeK4(x, h, nmax, L);
    if (nmax == 15) {
      PackQ4_K(h, L, out);
    } else {
      PackQ5_K(h, L, out);
    }
  }
}

}  // namespace

void QuantizeRowQ4_0Weighted(const float* x, const float* importance, uint8_t* out, size_t n) {
  const float sigma2 = SumSquares(x, n) / static_cast<float>(n);
  for (size_t ib = 0; ib < n / kQk4_0; ++ib, x += kQk4_0, importance += kQk4_0) {
    float weights[kQk4_0];
    int8_t L[kQk4_0];
    ValueWeights(x, importance, sigma2, kQk4_0, weights);
    BlockQ4_0 b;
    b.d = F32ToF16(MakeQxQuants(kQk4_0, 8, x, L, weights));
    for (int j = 0; j < kQk4_0 / 2; ++j) {
      b.qs[j] = static_cast<uint8_t>(L[j] | (L[j + kQk4_0 / 2] << 4));
    }
    std::memcpy(out + ib * sizeof b, &b, sizeof b);
  }
}

// make_qkx3_quants per sub-block of 16 (nmax 3), then 4-bit scale and min codes by
// make_qp_quants; sigma2 is not doubled here.
void QuantizeRowQ2_KWeighted(const float* x, const float* importance, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n / kQkK; ++i, x += kQkK, importance += kQkK, out += sizeof(BlockQ2_K)) {
    uint8_t L[kQkK];
    uint8_t Laux[16];
    float weights[16];
    float sw[kQkK / 16];
    float scales[kQkK / 16];
    float mins[kQkK / 16];
    const float sigma2 = SumSquares(x, kQkK) / kQkK;
    for (int j = 0; j < kQkK / 16; ++j) {
      sw[j] = ValueWeights(x + 16 * j, importance + 16 * j, sigma2, 16, weights);
      scales[j] = MakeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.9f,
                                 0.05f, 36, false);
    }
    uint8_t ls[kQkK / 16];
    uint8_t lm[kQkK / 16];
    const float dm = MakeQpQuants(kQkK / 16, 15, scales, ls, sw);
    const float mm = MakeQpQuants(kQkK / 16, 15, mins, lm, sw);
    uint8_t packed[kQkK / 16];
    for (int j = 0; j < kQkK / 16; ++j) packed[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
    FinishQ2_K(x, L, packed, F32ToF16(dm), F32ToF16(mm), out);
  }
}

// make_qx_quants per sub-block of 16 (nmax 4), then the 16 scales as 6-bit signed codes by a
// second make_qx_quants (nmax 32) weighted by the sub-blocks' summed weights.
void QuantizeRowQ3_KWeighted(const float* x, const float* importance, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n / kQkK; ++i, x += kQkK, importance += kQkK, out += sizeof(BlockQ3_K)) {
    int8_t L[kQkK];
    float weights[16];
    float sw[kQkK / 16];
    float scales[kQkK / 16];
    const float sigma2 = 2 * SumSquares(x, kQkK) / kQkK;
    for (int j = 0; j < kQkK / 16; ++j) {
      sw[j] = ValueWeights(x + 16 * j, importance + 16 * j, sigma2, 16, weights);
      scales[j] = MakeQxQuants(16, 4, x + 16 * j, L + 16 * j, weights);
    }
    int8_t ls[kQkK / 16];
    const float d_block = MakeQxQuants(kQkK / 16, 32, scales, ls, sw);
    uint8_t codes[kQkK / 16];
    for (int j = 0; j < kQkK / 16; ++j) codes[j] = static_cast<uint8_t>(ls[j]);
    FinishQ3_K(x, L, codes, d_block, out);
  }
}

void QuantizeRowQ4_KWeighted(const float* x, const float* importance, uint8_t* out, size_t n) {
  QuantizeRowK4Weighted(x, importance, out, n, 15, sizeof(BlockQ4_K));
}

void QuantizeRowQ5_KWeighted(const float* x, const float* importance, uint8_t* out, size_t n) {
  QuantizeRowK4Weighted(x, importance, out, n, 31, sizeof(BlockQ5_K));
}

// Q6_K: make_qx_quants per sub-block of 16 weighted by the importance alone, then the plain
// quantizer's finish.
void QuantizeRowQ6_KWeighted(const float* x, const float* importance, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n / kQkK; ++i, x += kQkK, importance += kQkK, out += sizeof(BlockQ6_K)) {
    int8_t L[kQkK];
    float scales[kQkK / 16];
    for (int ib = 0; ib < kQkK / 16; ++ib) {
      scales[ib] = MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib, importance + 16 * ib);
    }
    FinishQ6_K(x, L, scales, out);
  }
}

}  // namespace moedist::kernels
