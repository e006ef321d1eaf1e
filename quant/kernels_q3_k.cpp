// Q3_K: 16 sub-blocks of 16 with 3-bit codes and 6-bit signed scales of one f16 d, as
// quantize_row_q3_K_ref (make_q3_quants per sub-block, nmax 4) and dequantize_row_q3_K. The
// block finish is shared with the importance-weighted quantizer (kernels_imatrix.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/ggml_blocks.h"
#include "quant/ggml_kernels.h"
#include "quant/half_float.h"
#include "quant/k_quant_search.h"

namespace moedist::kernels {

void FinishQ3_K(const float* x, int8_t* L, const uint8_t* scale_codes, float d,
                uint8_t* out_block) {
  BlockQ3_K b{};
  for (int j = 0; j < kQkK / 16; ++j) {
    const int l = scale_codes[j];
    if (j < 8) {
      b.scales[j] = static_cast<uint8_t>(l & 0xF);
    } else {
      b.scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
    }
    b.scales[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
  }
  b.d = F32ToF16(d);

  // Requantize against the stored scales; a sub-block whose stored scale is 0 keeps its codes.
  for (int j = 0; j < kQkK / 16; ++j) {
    const float dl = F16ToF32(b.d) * static_cast<float>(GetScaleK3(j, b.scales) - 32);
    if (dl == 0.0f) continue;
    for (int ii = 0; ii < 16; ++ii) {
      const int l = NearestInt(x[16 * j + ii] / dl);
      L[16 * j + ii] = static_cast<int8_t>(std::max(-4, std::min(3, l)) + 4);
    }
  }
  for (int j = 0; j < kQkK; ++j) {
    if (L[j] > 3) {
      b.hmask[j % 32] |= static_cast<uint8_t>(1 << (j / 32));
      L[j] = static_cast<int8_t>(L[j] - 4);
    }
  }
  Pack2BitCodes(L, b.qs);
  std::memcpy(out_block, &b, sizeof b);
}

// The sub-block scale of largest magnitude maps to code -32 (d = -max_scale / 32); an all-zero
// super-block gets d = 0 and zero codes.
void QuantizeQ3_K(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kQkK, out += sizeof(BlockQ3_K)) {
    int8_t L[kQkK];
    float scales[kQkK / 16];
    float max_scale = 0;
    float amax = 0;
    for (int j = 0; j < kQkK / 16; ++j) {
      scales[j] = MakeQ3Quants(16, 4, x + 16 * j, L + 16 * j);
      const float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    uint8_t codes[kQkK / 16] = {};
    float d = 0.0f;
    if (max_scale != 0.0f) {
      const float iscale = -32.0f / max_scale;
      for (int j = 0; j < kQkK / 16; ++j) {
        // ggml keeps the rounded value in an int8_t before clamping.
        const int l = static_cast<int8_t>(NearestInt(iscale * scales[j]));
        codes[j] = static_cast<uint8_t>(std::max(-32, std::min(31, l)) + 32);
      }
      d = 1 / iscale;
    }
    FinishQ3_K(x, L, codes, d, out);
  }
}

// Same expression order as ggml: (d * (sc - 32)) * (q - 4).
void DequantizeQ3_K(const uint8_t* in, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i, in += sizeof(BlockQ3_K)) {
    BlockQ3_K b;
    std::memcpy(&b, in, sizeof b);
    const float d_all = F16ToF32(b.d);
    for (int v0 = 0; v0 < kQkK; v0 += 16) {
      const float dl = d_all * static_cast<float>(GetScaleK3(v0 / 16, b.scales) - 32);
      for (int v = v0; v < v0 + 16; ++v) {
        const int low = Get2BitCode(b.qs, v);
        const int high = (b.hmask[v % 32] >> (v / 32)) & 1;
        *y++ = dl * static_cast<float>(low - (high ? 0 : 4));
      }
    }
  }
}

}  // namespace moedist::kernels
