// Q4_K and Q6_K quantizers, scalar: the readable reference, one sub-block at a time. The
// library's fast path (kernels_k_quants.cpp) runs the same arithmetic in SIMD lanes; the tests
// check the two agree byte for byte, and both against ggml.
//
// The scale searches below are ggml's (make_qkx2_quants for Q4_K, make_qx_quants with
// rmse_type 1 for Q6_K) with the same constants, loop order and expression order: the output
// must be byte-identical to quantize_row_q4_K_ref / quantize_row_q6_K_ref, and float arithmetic
// is not associative, so "the same maths written differently" is not good enough.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/ggml_blocks.h"
#include "quant/ggml_kernels.h"

namespace moedist::kernels {
namespace {

// Symmetric codes in [-nmax, nmax - 1] for n values, scale chosen to minimise the error
// weighted by x^2: start from -nmax / max, then try 18 nearby inverse scales
// -(nmax + 0.1 * is) / max and keep the best least-squares fit. L receives code + nmax.
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0.0f;
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.0f;
  }
  auto code = [nmax](float v) { return std::max(-nmax, std::min(nmax - 1, NearestInt(v))); };
  float iscale = -nmax / max;
  float sumlx = 0.0f;
  float suml2 = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = code(iscale * x[i]);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = code(iscale * x[i]);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + code(iscale * x[i]));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Asymmetric codes in [0, nmax] with x ~ scale * L - the_min, minimising the weighted squared
// error: start from the min/max fit, then try nstep + 1 inverse scales (rmin + rdelta * is +
// nmax) / (max - min), solving the 2x2 least-squares system for scale and min at each; a fit
// whose min would be positive is refitted through zero. Note `min` moves as fits improve and
// later steps use the moved value, as in ggml.
float MakeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                     float* the_min, uint8_t* Laux, float rmin, float rdelta, int nstep) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, uint8_t{0});
    *the_min = -min;
    return 0.0f;
  }
  auto code = [nmax](float v) { return std::max(0, std::min(nmax, NearestInt(v))); };
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(code(iscale * (x[i] - min)));
    float diff = scale * L[i] + min - x[i];
    diff = diff * diff;
    best_error += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0;
    float sum_l2 = 0;
    float sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = code(iscale * (x[i] - min));
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        std::copy(Laux, Laux + n, L);
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

}  // namespace

// Writes each sub-block's scale and min (as ggml's `the_min`, i.e. positive = subtracted) and
// its codes; FinishQ4_K does the rest.
void SearchQ4_KScalar(const float* x, uint8_t* L, float* scales, float* mins) {
  uint8_t Laux[32];
  float weights[32];
  for (size_t j = 0; j < kQkK / 32; ++j) {
    // Weight each value by the sub-block's RMS plus its own magnitude: large values matter more.
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] =
        MakeQkx2Quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.0f, 0.1f, 20);
  }
}

void SearchQ6_KScalar(const float* x, int8_t* L, float* scales) {
  for (size_t ib = 0; ib < kQkK / 16; ++ib) {
    scales[ib] = MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib);
  }
}

void QuantizeQ4_KScalar(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kQkK, out += sizeof(BlockQ4_K)) {
    uint8_t L[kQkK];
    float scales[kQkK / 32];
    float mins[kQkK / 32];
    SearchQ4_KScalar(x, L, scales, mins);
    FinishQ4_K(x, L, scales, mins, out);
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
