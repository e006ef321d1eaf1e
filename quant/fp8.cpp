#include "quant/fp8.h"

#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <string>

#include "core/checked_math.h"
#include "quant/half_float.h"

namespace moedist {
namespace {

// All 256 E4M3FN values, computed once at compile time so decoding is a table lookup.
constexpr float DecodeE4M3Slow(uint8_t bits) {
  const int exp = (bits >> 3) & 0xF;
  const int mant = bits & 0x7;
  float magnitude = 0.0f;
  if (exp == 0xF && mant == 0x7) {
    magnitude = std::numeric_limits<float>::quiet_NaN();
  } else if (exp == 0) {
    magnitude = static_cast<float>(mant) * 0x1p-9f;  // subnormal: mant/8 * 2^(1-7)
  } else {
    magnitude = static_cast<float>(8 + mant) * 0x1p-3f;  // 1.mmm
    for (int e = exp; e > 7; --e) magnitude *= 2.0f;
    for (int e = exp; e < 7; ++e) magnitude *= 0.5f;
  }
  return (bits & 0x80) ? -magnitude : magnitude;
}

constexpr std::array<float, 256> MakeE4M3Table() {
  std::array<float, 256> table{};
  for (int i = 0; i < 256; ++i) table[i] = DecodeE4M3Slow(static_cast<uint8_t>(i));
  return table;
}
constexpr std::array<float, 256> kE4M3 = MakeE4M3Table();

}  // namespace

float Fp8E4M3ToF32(uint8_t bits) {
  return kE4M3[bits];
}

float Fp8E5M2ToF32(uint8_t bits) {
  return F16ToF32(static_cast<uint16_t>(bits << 8));
}

float E8M0ToF32(uint8_t bits) {
  if (bits == 0xFF) return std::numeric_limits<float>::quiet_NaN();
  // 2^-127 is below the smallest normal f32, so it is the subnormal with only bit 22 set.
  return std::bit_cast<float>(bits == 0 ? 0x00400000u : static_cast<uint32_t>(bits) << 23);
}

Status DequantizeFp8BlockScaled(const Fp8BlockGrid& grid, std::span<const uint8_t> weight,
                                std::span<const float> scale_inv, uint64_t row_begin,
                                std::span<float> out) {
  if (grid.block_rows == 0 || grid.block_cols == 0) {
    return Status::InvalidArgument("fp8 block scale: block size {}x{} has a zero side",
                                   grid.block_rows, grid.block_cols);
  }
  const auto elements = CheckedMul(grid.rows, grid.cols);
  if (!elements || weight.size() != *elements) {
    return Status::InvalidArgument(
        "fp8 block scale: weight holds {} bytes, shape [{}, {}] needs {}", weight.size(), grid.rows,
        grid.cols, elements ? std::to_string(*elements) : "more than 2^64");
  }
  const uint64_t scale_rows = (grid.rows + grid.block_rows - 1) / grid.block_rows;
  const uint64_t scale_cols = (grid.cols + grid.block_cols - 1) / grid.block_cols;
  if (scale_inv.size() != scale_rows * scale_cols) {  // cannot overflow: both <= rows, cols
    return Status::InvalidArgument(
        "fp8 block scale: scale_inv holds {} values, shape [{}, {}] with {}x{} blocks needs [{}, "
        "{}]",
        scale_inv.size(), grid.rows, grid.cols, grid.block_rows, grid.block_cols, scale_rows,
        scale_cols);
  }
  if (grid.cols == 0) {
    if (!out.empty()) return Status::InvalidArgument("fp8 block scale: output for 0 columns");
    return Status::Ok();
  }
  const uint64_t out_rows = out.size() / grid.cols;
  if (out.size() % grid.cols != 0 || row_begin > grid.rows || out_rows > grid.rows - row_begin) {
    return Status::InvalidArgument(
        "fp8 block scale: output of {} values is not whole rows of {} columns inside rows [{}, {})",
        out.size(), grid.cols, row_begin, grid.rows);
  }
  for (uint64_t r = 0; r < out_rows; ++r) {
    const uint64_t row = row_begin + r;
    const uint8_t* src = weight.data() + row * grid.cols;
    const float* scales = scale_inv.data() + (row / grid.block_rows) * scale_cols;
    float* dst = out.data() + r * grid.cols;
    for (uint64_t c0 = 0; c0 < grid.cols; c0 += grid.block_cols) {
      const float scale = scales[c0 / grid.block_cols];
      const uint64_t c1 = std::min<uint64_t>(grid.cols, c0 + grid.block_cols);
      for (uint64_t c = c0; c < c1; ++c) dst[c] = kE4M3[src[c]] * scale;
    }
  }
  return Status::Ok();
}

}  // namespace moedist
