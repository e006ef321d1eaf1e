// Q2_K: 16 sub-blocks of 16 with 2-bit codes, a 4-bit scale and a 4-bit min each, as
// quantize_row_q2_K_ref (make_qkx2_quants per sub-block: nmax 3, weights |x|, absolute error)
// and dequantize_row_q2_K. The block finish is shared with the importance-weighted quantizer.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/ggml_blocks.h"
#include "quant/ggml_kernels.h"
#include "quant/half_float.h"
#include "quant/k_quant_search.h"

namespace moedist::kernels {

void FinishQ2_K(const float* x, uint8_t* L, const uint8_t* scales, uint16_t d, uint16_t dmin,
                uint8_t* out_block) {
  BlockQ2_K b;
  std::memcpy(b.scales, scales, sizeof b.scales);
  b.d = d;
  b.dmin = dmin;
  // Requantize against the stored scales; a sub-block whose stored scale is 0 keeps its codes.
  for (int j = 0; j < kQkK / 16; ++j) {
    const float dl = F16ToF32(b.d) * (b.scales[j] & 0xF);
    if (dl == 0.0f) continue;
    const float ml = F16ToF32(b.dmin) * (b.scales[j] >> 4);
    for (int ii = 0; ii < 16; ++ii) {
      const int l = NearestInt((x[16 * j + ii] + ml) / dl);
      L[16 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(3, l)));
    }
  }
  Pack2BitCodes(L, b.qs);
  std::memcpy(out_block, &b, sizeof b);
}

// Scales and mins become 4-bit multiples of d = max scale / 15 and dmin = max min / 15.
void QuantizeQ2_K(const float* x, uint8_t* out, size_t nb) {
  constexpr float kQ4Scale = 15.0f;
  for (size_t i = 0; i < nb; ++i, x += kQkK, out += sizeof(BlockQ2_K)) {
    uint8_t L[kQkK];
    uint8_t Laux[16];
    float weights[16];
    float scales[kQkK / 16];
    float mins[kQkK / 16];
    float max_scale = 0;
    float max_min = 0;
    for (int j = 0; j < kQkK / 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = MakeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f,
                                 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    // ggml stores the rounded int into a byte and ORs the min's code above it.
    uint8_t packed[kQkK / 16] = {};
    uint16_t d = F32ToF16(0.0f);
    uint16_t dmin = F32ToF16(0.0f);
    if (max_scale > 0) {
      const float iscale = kQ4Scale / max_scale;
      for (int j = 0; j < kQkK / 16; ++j) {
        packed[j] = static_cast<uint8_t>(NearestInt(iscale * scales[j]));
      }
      d = F32ToF16(max_scale / kQ4Scale);
    }
    if (max_min > 0) {
      const float iscale = kQ4Scale / max_min;
      for (int j = 0; j < kQkK / 16; ++j) {
        packed[j] |= static_cast<uint8_t>(NearestInt(iscale * mins[j]) << 4);
      }
      dmin = F32ToF16(max_min / kQ4Scale);
    }
    FinishQ2_K(x, L, packed, d, dmin, out);
  }
}

// Same expression order as ggml: (d * sc) * q - (dmin * m).
void DequantizeQ2_K(const uint8_t* in, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i, in += sizeof(BlockQ2_K)) {
    BlockQ2_K b;
    std::memcpy(&b, in, sizeof b);
    const float d = F16ToF32(b.d);
    const float min = F16ToF32(b.dmin);
    for (int v0 = 0; v0 < kQkK; v0 += 16) {
      const uint8_t sc = b.scales[v0 / 16];
      const float dl = d * (sc & 0xF);
      const float ml = min * (sc >> 4);
      for (int v = v0; v < v0 + 16; ++v) {
        const int q = Get2BitCode(b.qs, v);
        *y++ = dl * static_cast<float>(q) - ml;
      }
    }
  }
}

}  // namespace moedist::kernels
