// 8-bit float decoding (FP8 E4M3FN, FP8 E5M2, E8M0 scales) and the block-scaled FP8 weights of
// DeepSeek-V3 / Kimi-K2 checkpoints.
//
// Formats (OCP 8-bit floating point and OCP Microscaling specifications):
//   E4M3FN  s eeee mmm, bias 7, subnormals, no infinities; 0x7F/0xFF are NaN; max 448 (0x7E).
//   E5M2    s eeeee mm, bias 15, IEEE-like: 0x7C is +inf, 0x7D..0x7F NaN; it is the top byte of
//           an F16, which is how it is decoded.
//   E8M0    eeeeeeee, an unsigned power of two 2^(e-127); 0xFF is NaN; 0x00 is 2^-127.
// moedist only decodes these: it never writes FP8. Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"

namespace moedist {

float Fp8E4M3ToF32(uint8_t bits);
float Fp8E5M2ToF32(uint8_t bits);
float E8M0ToF32(uint8_t bits);

// Block-scaled FP8 as stored by DeepSeek-V3 style checkpoints: `weight` is F8_E4M3 [rows, cols]
// row-major and `scale_inv` is F32 [ceil(rows/block_rows), ceil(cols/block_cols)]; element
// (r, c) is Fp8E4M3ToF32(weight[r][c]) * scale_inv[r / block_rows][c / block_cols]. Edge blocks
// may be partial. ("scale_inv" is the checkpoint's name: it is multiplied, not divided.)
struct Fp8BlockGrid {
  uint64_t rows = 0;
  uint64_t cols = 0;
  uint32_t block_rows = 128;
  uint32_t block_cols = 128;
};

// Dequantizes rows [row_begin, row_begin + out.size() / cols) into `out` (f32, row-major), so a
// caller can stream a large tensor in slabs. `weight` and `scale_inv` are always the whole
// tensor. Sizes that disagree with the grid, or a slab past the end, are InvalidArgument.
Status DequantizeFp8BlockScaled(const Fp8BlockGrid& grid, std::span<const uint8_t> weight,
                                std::span<const float> scale_inv, uint64_t row_begin,
                                std::span<float> out);

}  // namespace moedist
