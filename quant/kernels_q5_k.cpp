// Q5_K: Q4_K's header and 32-value sub-block search (make_qkx2_quants with nmax 31, rmin -0.5,
// 15 steps) with 5-bit codes, as quantize_row_q5_K_ref / dequantize_row_q5_K.
#include <cstddef>
#include <cstring>

#include "quant/ggml_blocks.h"
#include "quant/ggml_kernels.h"
#include "quant/half_float.h"

namespace moedist::kernels {

void PackQ5_K(const K4Header& h, const uint8_t* L, uint8_t* out_block) {
  BlockQ5_K b{};
  b.d = h.d;
  b.dmin = h.dmin;
  std::memcpy(b.scales, h.scales, sizeof b.scales);
  uint8_t* ql = b.qs;
  for (int n = 0, c = 0; n < kQkK; n += 64, ql += 32, ++c) {
    for (int j = 0; j < 32; ++j) {
      const int l1 = L[n + j];
      const int l2 = L[n + j + 32];
      b.qh[j] |= static_cast<uint8_t>(((l1 >> 4) << (2 * c)) | ((l2 >> 4) << (2 * c + 1)));
      ql[j] = static_cast<uint8_t>((l1 & 0xF) | ((l2 & 0xF) << 4));
    }
  }
  std::memcpy(out_block, &b, sizeof b);
}

void FinishQ5_K(const float* x, uint8_t* L, const float* scales, const float* mins,
                uint8_t* out_block) {
  const K4Header h = MakeK4Header(scales, mins);
  RequantizeK4(x, h, 31, L);
  PackQ5_K(h, L, out_block);
}

void QuantizeQ5_K(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kQkK, out += sizeof(BlockQ5_K)) {
    uint8_t L[kQkK];
    float scales[kQkK / 32];
    float mins[kQkK / 32];
    SearchSub32(x, kQ5_KSearch, L, scales, mins);
    FinishQ5_K(x, L, scales, mins, out);
  }
}

void DequantizeQ5_K(const uint8_t* in, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i, in += sizeof(BlockQ5_K), y += kQkK) {
    K4Header h;
    std::memcpy(&h, in, sizeof h);
    DecodeK4(h, in + offsetof(BlockQ5_K, qs), in + offsetof(BlockQ5_K, qh), y);
  }
}

}  // namespace moedist::kernels
