// The header Q4_K and Q5_K share: f16 d and dmin, then 8 sub-block scales and 8 mins as 6-bit
// multiples of them in 12 bytes (layout in GetScaleMinK4), and the requantization of codes
// against those stored (rounded) values, which both ggml quantizers end with; and the decoder
// both share.
#include <algorithm>

#include "quant/ggml_blocks.h"
#include "quant/ggml_kernels.h"
#include "quant/half_float.h"

namespace moedist::kernels {

K4Header PackK4Header(const uint8_t* ls, const uint8_t* lm, float d, float dmin) {
  K4Header h{};
  for (int j = 0; j < kQkK / 32; ++j) {
    if (j < 4) {
      h.scales[j] = ls[j];
      h.scales[j + 4] = lm[j];
    } else {
      h.scales[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      h.scales[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      h.scales[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
  h.d = F32ToF16(d);
  h.dmin = F32ToF16(dmin);
  return h;
}

K4Header MakeK4Header(const float* scales, const float* mins) {
  float max_scale = 0;  // scales are never negative: the min absorbs the offset
  float max_min = 0;
  for (int j = 0; j < kQkK / 32; ++j) {
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  // d = max_scale / 63 and dmin = max_min / 63, each sub-block's value rounded to a multiple.
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  uint8_t ls[kQkK / 32];
  uint8_t lm[kQkK / 32];
  for (int j = 0; j < kQkK / 32; ++j) {
    ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(NearestInt(inv_scale * scales[j])));
    lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(NearestInt(inv_min * mins[j])));
  }
  return PackK4Header(ls, lm, max_scale / 63.0f, max_min / 63.0f);
}

// A sub-block whose stored scale is 0 keeps the codes of the search.
void RequantizeK4(const float* x, const K4Header& h, int nmax, uint8_t* L) {
  for (int j = 0; j < kQkK / 32; ++j) {
    uint8_t sc;
    uint8_t m;
    GetScaleMinK4(j, h.scales, &sc, &m);
    const float d = F16ToF32(h.d) * sc;
    if (d == 0.0f) continue;
    const float dm = F16ToF32(h.dmin) * m;
    for (int ii = 0; ii < 32; ++ii) {
      const int l = NearestInt((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    }
  }
}

// Same expression order as ggml's dequantize_row_q{4,5}_K: (d * sc) * code - (dmin * m).
void DecodeK4(const K4Header& h, const uint8_t* qs, const uint8_t* qh, float* y) {
  const float d = F16ToF32(h.d);
  const float min = F16ToF32(h.dmin);
  for (int j = 0, is = 0; j < kQkK; j += 64, qs += 32, is += 2) {
    uint8_t sc;
    uint8_t m;
    GetScaleMinK4(is, h.scales, &sc, &m);
    const float d1 = d * sc;
    const float m1 = min * m;
    GetScaleMinK4(is + 1, h.scales, &sc, &m);
    const float d2 = d * sc;
    const float m2 = min * m;
    for (int l = 0; l < 32; ++l) {
      const int high = qh != nullptr && (qh[l] >> is) & 1 ? 16 : 0;
      *y++ = d1 * ((qs[l] & 0xF) + high) - m1;
    }
    for (int l = 0; l < 32; ++l) {
      const int high = qh != nullptr && (qh[l] >> (is + 1)) & 1 ? 16 : 0;
      *y++ = d2 * ((qs[l] >> 4) + high) - m2;
    }
  }
}

}  // namespace moedist::kernels
