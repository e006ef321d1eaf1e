// Q4_K and Q6_K: the fast quantizers, the block finish, and the dequantizers; the 32-value
// sub-block search in lanes that Q5_K shares.
//
// Why lanes: ggml's scale searches are chains of dependent float additions (each sum over a
// sub-block must be added in order to stay byte-identical), so one sub-block at a time leaves
// the CPU waiting on add latency. The sub-blocks of a super-block are independent, so here each
// SIMD lane runs the scalar algorithm of kernels_k_quants_scalar.cpp for one sub-block: every
// lane performs exactly the scalar operations in the scalar order, and branches become per-lane
// selects. Results are therefore bit-identical to the scalar code (and to ggml); tests check
// both. GCC/Clang vector extensions compile to SSE2 on baseline x86-64 and wider with -march.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "quant/ggml_blocks.h"
#include "quant/ggml_kernels.h"
#include "quant/half_float.h"

namespace moedist::kernels {
namespace {

constexpr int kLanes = 4;
typedef float F8 __attribute__((vector_size(4 * kLanes)));
typedef int32_t I8 __attribute__((vector_size(4 * kLanes)));

inline F8 Splat(float v) {
  return F8{} + v;
}
inline I8 SplatI(int32_t v) {
  return I8{} + v;
}
inline F8 ToFloat(I8 v) {
  return __builtin_convertvector(v, F8);
}
inline F8 Select(I8 mask, F8 a, F8 b) {
  return mask ? a : b;
}
inline I8 SelectI(I8 mask, I8 a, I8 b) {
  return mask ? a : b;
}
inline F8 Abs(F8 v) {
  I8 bits;
  std::memcpy(&bits, &v, sizeof bits);
  bits &= 0x7FFFFFFF;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}
// NearestInt of each lane (see ggml_kernels.h).
inline I8 NearestInt8(F8 v) {
  const F8 biased = v + 12582912.0f;
  I8 bits;
  std::memcpy(&bits, &biased, sizeof bits);
  return (bits & 0x007FFFFF) - 0x00400000;
}
inline I8 Clamp(I8 v, int32_t lo, int32_t hi) {
  v = SelectI(v < lo, SplatI(lo), v);
  return SelectI(v > hi, SplatI(hi), v);
}

// Lane k holds value i of sub-block k: xt[i][k] = x[stride * k + i].
template <int N>
void Transpose(const float* x, int stride, F8* xt) {
  for (int i = 0; i < N; ++i) {
    for (int k = 0; k < kLanes; ++k) xt[i][k] = x[stride * k + i];
  }
}

// make_qkx2_quants(32, p.nmax, ..., p.rmin, rdelta 0.1, p.nstep, squared error) for kLanes
// sub-blocks of 32 at once. See MakeQkx2Quants in k_quant_search.cpp for the algorithm.
void SearchSub32Lanes(const float* x, Qkx2Search p, uint8_t* L, float* scales, float* mins) {
  constexpr int n = 32;
  constexpr float rdelta = 0.1f;
  const int nmax = p.nmax;
  F8 xt[n];
  Transpose<n>(x, n, xt);

  // weights = rms + |x|, sums in the scalar order
  F8 sum_x2 = Splat(0);
  for (int l = 0; l < n; ++l) sum_x2 += xt[l] * xt[l];
  F8 av_x;
  const F8 mean_x2 = sum_x2 / 32;
  for (int k = 0; k < kLanes; ++k) av_x[k] = std::sqrt(mean_x2[k]);
  F8 w[n];
  for (int l = 0; l < n; ++l) w[l] = av_x + Abs(xt[l]);

  F8 min = xt[0];
  F8 max = xt[0];
  F8 sum_w = w[0];
  F8 sum_x = sum_w * xt[0];
  for (int i = 1; i < n; ++i) {
    min = Select(xt[i] < min, xt[i], min);
    max = Select(xt[i] > max, xt[i], max);
    sum_w += w[i];
    sum_x += w[i] * xt[i];
  }
  min = Select(min > 0, Splat(0), min);
  const I8 flat = max == min;  // these lanes return scale 0, codes 0 (scalar early return)
  const F8 flat_min = min;

  F8 iscale = Splat(nmax) / (max - min);
  F8 scale = Splat(1) / iscale;
  F8 best_error = Splat(0);
  I8 Lt[n];
  for (int i = 0; i < n; ++i) {
    Lt[i] = Clamp(NearestInt8(iscale * (xt[i] - min)), 0, nmax);
    F8 diff = scale * ToFloat(Lt[i]) + min - xt[i];
    diff = diff * diff;
    best_error += w[i] * diff;
  }
  for (int is = 0; is <= p.nstep; ++is) {
    iscale = Splat(p.rmin + rdelta * is + nmax) / (max - min);
    F8 sum_l = Splat(0);
    F8 sum_l2 = Splat(0);
    F8 sum_xl = Splat(0);
    I8 laux[n];
    for (int i = 0; i < n; ++i) {
      laux[i] = Clamp(NearestInt8(iscale * (xt[i] - min)), 0, nmax);
      const F8 l = ToFloat(laux[i]);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * xt[i];
    }
    const F8 D = sum_w * sum_l2 - sum_l * sum_l;
    F8 this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
    F8 this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    const I8 refit = this_min > 0;
    this_min = Select(refit, Splat(0), this_min);
    this_scale = Select(refit, sum_xl / sum_l2, this_scale);
    F8 cur_error = Splat(0);
    for (int i = 0; i < n; ++i) {
      F8 diff = this_scale * ToFloat(laux[i]) + this_min - xt[i];
      diff = diff * diff;
      cur_error += w[i] * diff;
    }
    const I8 take = (D > 0) & (cur_error < best_error);
    for (int i = 0; i < n; ++i) Lt[i] = SelectI(take, laux[i], Lt[i]);
    best_error = Select(take, cur_error, best_error);
    scale = Select(take, this_scale, scale);
    min = Select(take, this_min, min);
  }
  scale = Select(flat, Splat(0), scale);
  min = Select(flat, flat_min, min);
  for (int k = 0; k < kLanes; ++k) {
    scales[k] = scale[k];
    mins[k] = -min[k];
    for (int i = 0; i < n; ++i) L[n * k + i] = flat[k] ? 0 : static_cast<uint8_t>(Lt[i][k]);
  }
}

// make_qx_quants(16, 32, rmse_type 1) for 8 sub-blocks of 16 at once. See MakeQxQuants in
// kernels_k_quants_scalar.cpp for the algorithm.
void SearchQ6_KLanes(const float* x, int8_t* L, float* scales) {
  constexpr int n = 16;
  constexpr int nmax = 32;
  F8 xt[n];
  Transpose<n>(x, n, xt);
  F8 max = Splat(0);
  F8 amax = Splat(0);
  F8 w[n];
  for (int i = 0; i < n; ++i) {
    const F8 ax = Abs(xt[i]);
    const I8 bigger = ax > amax;
    amax = Select(bigger, ax, amax);
    max = Select(bigger, xt[i], max);
    w[i] = xt[i] * xt[i];
  }
  const I8 zero = amax < kGroupMaxEps;  // scalar early return: codes 0, scale 0

  F8 iscale = Splat(-nmax) / max;
  F8 sumlx = Splat(0);
  F8 suml2 = Splat(0);
  I8 Lt[n];
  for (int i = 0; i < n; ++i) {
    Lt[i] = Clamp(NearestInt8(iscale * xt[i]), -nmax, nmax - 1);
    const F8 l = ToFloat(Lt[i]);
    sumlx += w[i] * xt[i] * l;
    suml2 += w[i] * l * l;
  }
  F8 scale = Select(suml2 != 0, sumlx / suml2, Splat(0));
  F8 best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = Splat(-(nmax + 0.1f * is)) / max;
    sumlx = Splat(0);
    suml2 = Splat(0);
    I8 laux[n];
    for (int i = 0; i < n; ++i) {
      laux[i] = Clamp(NearestInt8(iscale * xt[i]), -nmax, nmax - 1);
      const F8 l = ToFloat(laux[i]);
      sumlx += w[i] * xt[i] * l;
      suml2 += w[i] * l * l;
    }
    const I8 take = (suml2 > 0) & (sumlx * sumlx > best * suml2);
    for (int i = 0; i < n; ++i) Lt[i] = SelectI(take, laux[i], Lt[i]);
    scale = Select(take, sumlx / suml2, scale);
    best = Select(take, scale * sumlx, best);
  }
  scale = Select(zero, Splat(0), scale);
  for (int k = 0; k < kLanes; ++k) {
    scales[k] = scale[k];
    for (int i = 0; i < n; ++i) L[n * k + i] = zero[k] ? 0 : static_cast<int8_t>(Lt[i][k] + nmax);
  }
}

}  // namespace

void SearchSub32(const float* x, Qkx2Search p, uint8_t* L, float* scales, float* mins) {
  for (size_t j = 0; j < kQkK / 32; j += kLanes) {  // kLanes sub-blocks of 32 at a time
    SearchSub32Lanes(x + 32 * j, p, L + 32 * j, scales + j, mins + j);
  }
}

void FinishQ4_K(const float* x, uint8_t* L, const float* scales, const float* mins,
                uint8_t* out_block) {
  const K4Header h = MakeK4Header(scales, mins);
  RequantizeK4(x, h, 15, L);
  PackQ4_K(h, L, out_block);
}

void PackQ4_K(const K4Header& h, const uint8_t* L, uint8_t* out_block) {
  BlockQ4_K b;
  b.d = h.d;
  b.dmin = h.dmin;
  std::memcpy(b.scales, h.scales, sizeof b.scales);
  uint8_t* q = b.qs;
  for (int j = 0; j < kQkK; j += 64, q += 32) {
    for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
  }
  std::memcpy(out_block, &b, sizeof b);
}

void FinishQ6_K(const float* x, int8_t* L, const float* scales, uint8_t* out_block) {
  BlockQ6_K b{};
  float max_scale = 0;
  float max_abs_scale = 0;
  for (int ib = 0; ib < kQkK / 16; ++ib) {
    const float abs_scale = std::fabs(scales[ib]);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scales[ib];
    }
  }
  if (max_abs_scale < kGroupMaxEps) {  // d = +0: the whole super-block decodes to zeros
    std::memcpy(out_block, &b, sizeof b);
    return;
  }
  // Sub-block scales are int8 multiples of d; the signed scale of largest magnitude maps to -128.
  const float iscale = -128.0f / max_scale;
  b.d = F32ToF16(1 / iscale);
  for (int ib = 0; ib < kQkK / 16; ++ib) {
    b.scales[ib] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[ib])));
  }
  for (int j = 0; j < kQkK / 16; ++j) {
    const float d = F16ToF32(b.d) * b.scales[j];
    if (d == 0.0f) continue;
    for (int ii = 0; ii < 16; ++ii) {
      const int l = NearestInt(x[16 * j + ii] / d);
      L[16 * j + ii] = static_cast<int8_t>(std::max(-32, std::min(31, l)) + 32);
    }
  }
  uint8_t* ql = b.ql;
  uint8_t* qh = b.qh;
  for (int j = 0; j < kQkK; j += 128, ql += 64, qh += 32) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t q1 = L[j + l + 0] & 0xF;
      const uint8_t q2 = L[j + l + 32] & 0xF;
      const uint8_t q3 = L[j + l + 64] & 0xF;
      const uint8_t q4 = L[j + l + 96] & 0xF;
      ql[l] = static_cast<uint8_t>(q1 | (q3 << 4));
      ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
      qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                   ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
    }
  }
  std::memcpy(out_block, &b, sizeof b);
}

void QuantizeQ4_K(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kQkK, out += sizeof(BlockQ4_K)) {
    uint8_t L[kQkK];
    float scales[kQkK / 32];
    float mins[kQkK / 32];
    SearchSub32(x, kQ4_KSearch, L, scales, mins);
    FinishQ4_K(x, L, scales, mins, out);
  }
}

void QuantizeQ6_K(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kQkK, out += sizeof(BlockQ6_K)) {
    int8_t L[kQkK];
    float scales[kQkK / 16];
    for (size_t j = 0; j < kQkK / 16; j += kLanes) {  // kLanes sub-blocks of 16 at a time
      SearchQ6_KLanes(x + 16 * j, L + 16 * j, scales + j);
    }
    FinishQ6_K(x, L, scales, out);
  }
}

void DequantizeQ4_K(const uint8_t* in, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i, in += sizeof(BlockQ4_K), y += kQkK) {
    K4Header h;
    std::memcpy(&h, in, sizeof h);
    DecodeK4(h, in + offsetof(BlockQ4_K, qs), nullptr, y);
  }
}

void DequantizeQ6_K(const uint8_t* in, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i, in += sizeof(BlockQ6_K)) {
    BlockQ6_K b;
    std::memcpy(&b, in, sizeof b);
    const float d = F16ToF32(b.d);
    const uint8_t* ql = b.ql;
    const uint8_t* qh = b.qh;
    const int8_t* sc = b.scales;
    for (int n = 0; n < kQkK; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

}  // namespace moedist::kernels
