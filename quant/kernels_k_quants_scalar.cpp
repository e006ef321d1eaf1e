// Q4_K, Q5_K and Q6_K quantizers, scalar: the readable reference, one sub-block at a time. The
// library's fast path (kernels_k_quants.cpp) runs the same arithmetic in SIMD lanes; the tests
// check the two agree byte for byte, and both against ggml.
//
// The scale searches (k_quant_search.h) are ggml's make_qkx2_quants for Q4_K / Q5_K and
// make_qx_quants with rmse_type 1 for Q6_K, so the output is byte-identical to
// quantize_row_q{4,5,6}_K_ref.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/ggml_blocks.h"
#include "quant/ggml_kernels.h"
#include "quant/k_quant_search.h"

namespace moedist::kernels {

// Writes each sub-block's scale and min (as ggml's `the_min`, i.e. positive = subtracted) and
// its codes; FinishQ4_K / FinishQ5_K do the rest.
void SearchSub32Scalar(const float* x, Qkx2Search p, uint8_t* L, float* scales, float* mins) {
  uint8_t Laux[32];
  float weights[32];
  for (size_t j = 0; j < kQkK / 32; ++j) {
    // Weight each value by the sub-block's RMS plus its own magnitude: large values matter more.
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = MakeQkx2Quants(32, p.nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, p.rmin,
                               0.1f, p.nstep, false);
  }
}

void SearchQ6_KScalar(const float* x, int8_t* L, float* scales) {
  for (size_t ib = 0; ib < kQkK / 16; ++ib) {
    scales[ib] = MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib, nullptr);
  }
}

void QuantizeQ4_KScalar(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kQkK, out += sizeof(BlockQ4_K)) {
    uint8_t L[kQkK];
    float scales[kQkK / 32];
    float mins[kQkK / 32];
    SearchSub32Scalar(x, kQ4_KSearch, L, scales, mins);
    FinishQ4_K(x, L, scales, mins, out);
  }
}

void QuantizeQ5_KScalar(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kQkK, out += sizeof(BlockQ5_K)) {
    uint8_t L[kQkK];
    float scales[kQkK / 32];
    float mins[kQkK / 32];
    SearchSub32Scalar(x, kQ5_KSearch, L, scales, mins);
    FinishQ5_K(x, L, scales, mins, out);
  }
}

void QuantizeQ6_KScalar(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kQkK, out += sizeof(BlockQ6_K)) {
    int8_t L[kQkK];
    float scales[kQkK / 16];
    SearchQ6_KScalar(x, L, scales);
    FinishQ6_K(x, L, scales, out);
  }
}

}  // namespace moedist::kernels
