// FP8 E4M3FN / E5M2 / E8M0 decoding, block-scaled FP8 dequantization, MXFP4 and DecodeToF32.
#include "quant/fp8.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/decode_f32.h"
#include "quant/mxfp4.h"

namespace moedist {
namespace {

// From the definition: bias 7, 3 mantissa bits, subnormals at exponent 0, only S.1111.111 NaN.
double E4M3Reference(uint8_t b) {
  const int sign = (b & 0x80) ? -1 : 1;
  const int exp = (b >> 3) & 0xF;
  const int mant = b & 7;
  if (exp == 0xF && mant == 7) return std::nan("");
  if (exp == 0) return sign * std::ldexp(mant, -9);
  return sign * std::ldexp(8 + mant, exp - 10);
}

TEST(Fp8E4M3, DecodesAll256CodesLikeTheDefinition) {
  for (int b = 0; b < 256; ++b) {
    const float got = Fp8E4M3ToF32(static_cast<uint8_t>(b));
    const double want = E4M3Reference(static_cast<uint8_t>(b));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << b;
      continue;
    }
    EXPECT_EQ(static_cast<double>(got), want) << b;
    EXPECT_EQ(std::signbit(got), b >= 0x80) << b;
    EXPECT_FALSE(std::isinf(got)) << b;  // E4M3FN has no infinities
  }
}

TEST(Fp8E4M3, KnownValues) {
  struct Known {
    uint8_t code;
    float value;
  };
  const Known known[] = {
      {0x00, 0.0f},   {0x01, 0x1p-9f}, {0x07, 7 * 0x1p-9f}, {0x08, 0x1p-6f},  {0x30, 0.5f},
      {0x38, 1.0f},   {0x3C, 1.5f},    {0x40, 2.0f},        {0x77, 240.0f},   {0x78, 256.0f},
      {0x7E, 448.0f}, {0xB8, -1.0f},   {0xFE, -448.0f},     {0x81, -0x1p-9f},
  };
  for (const Known& k : known) EXPECT_EQ(Fp8E4M3ToF32(k.code), k.value) << int(k.code);
  EXPECT_TRUE(std::isnan(Fp8E4M3ToF32(0x7F)));
  EXPECT_TRUE(std::isnan(Fp8E4M3ToF32(0xFF)));
  EXPECT_TRUE(std::signbit(Fp8E4M3ToF32(0x80)));
}

TEST(Fp8E5M2, DecodesAll256Codes) {
  for (int b = 0; b < 256; ++b) {
    const int sign = (b & 0x80) ? -1 : 1;
    const int exp = (b >> 2) & 0x1F;
    const int mant = b & 3;
    const float got = Fp8E5M2ToF32(static_cast<uint8_t>(b));
    if (exp == 31) {
      if (mant == 0) {
        EXPECT_EQ(got, sign * INFINITY) << b;
      } else {
        EXPECT_TRUE(std::isnan(got)) << b;
      }
      continue;
    }
    const double want =
        exp == 0 ? sign * std::ldexp(mant, -16) : sign * std::ldexp(4 + mant, exp - 17);
    EXPECT_EQ(static_cast<double>(got), want) << b;
  }
  EXPECT_EQ(Fp8E5M2ToF32(0x3C), 1.0f);
  EXPECT_EQ(Fp8E5M2ToF32(0x7B), 57344.0f);
  EXPECT_EQ(Fp8E5M2ToF32(0x01), 0x1p-16f);
}

TEST(E8M0, DecodesPowersOfTwo) {
  for (int e = 0; e < 255; ++e) {
    EXPECT_EQ(static_cast<double>(E8M0ToF32(static_cast<uint8_t>(e))), std::ldexp(1.0, e - 127))
        << e;
  }
  EXPECT_EQ(E8M0ToF32(127), 1.0f);
  EXPECT_TRUE(std::isnan(E8M0ToF32(255)));
}

struct BlockScaledCase {
  const char* name;
  uint64_t rows, cols;
  uint32_t block_rows, block_cols;
};

class Fp8BlockScaled : public ::testing::TestWithParam<BlockScaledCase> {};

TEST_P(Fp8BlockScaled, EachValueIsItsCodeTimesItsBlockScale) {
  const BlockScaledCase& c = GetParam();
  const Fp8BlockGrid grid{c.rows, c.cols, c.block_rows, c.block_cols};
  const uint64_t sr = (c.rows + c.block_rows - 1) / c.block_rows;
  const uint64_t sc = (c.cols + c.block_cols - 1) / c.block_cols;
  std::mt19937 rng(7);
  std::vector<uint8_t> weight(c.rows * c.cols);
  for (auto& w : weight) {
    w = static_cast<uint8_t>(rng());
    if ((w & 0x7F) == 0x7F) w = 0x3A;  // keep NaN codes out: checked separately
  }
  std::vector<float> scale(sr * sc);
  for (size_t i = 0; i < scale.size(); ++i)
    scale[i] = std::ldexp(1.0f + i % 7 * 0.125f, int(i % 5) - 9);
  std::vector<float> out(c.rows * c.cols);
  ASSERT_TRUE(DequantizeFp8BlockScaled(grid, weight, scale, 0, out).ok());
  for (uint64_t r = 0; r < c.rows; ++r) {
    for (uint64_t col = 0; col < c.cols; ++col) {
      const float want = Fp8E4M3ToF32(weight[r * c.cols + col]) *
                         scale[(r / c.block_rows) * sc + col / c.block_cols];
      ASSERT_EQ(out[r * c.cols + col], want) << r << "," << col;
    }
  }
  // A slab of rows in the middle decodes to the same values (streaming use).
  if (c.rows >= 3) {
    const uint64_t begin = c.rows / 2;
    std::vector<float> slab(2 * c.cols);
    ASSERT_TRUE(DequantizeFp8BlockScaled(grid, weight, scale, begin, slab).ok());
    for (uint64_t i = 0; i < slab.size(); ++i) ASSERT_EQ(slab[i], out[begin * c.cols + i]);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Fp8BlockScaled,
    ::testing::Values(BlockScaledCase{"exact_blocks", 256, 384, 128, 128},
                      BlockScaledCase{"partial_edge_blocks", 130, 200, 128, 128},
                      BlockScaledCase{"smaller_than_one_block", 5, 7, 128, 128},
                      BlockScaledCase{"small_blocks", 9, 10, 4, 3}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Fp8BlockScaledErrors, RefusesMismatchedSizes) {
  const Fp8BlockGrid grid{130, 200, 128, 128};
  std::vector<uint8_t> weight(130 * 200);
  std::vector<float> scale(4);
  std::vector<float> out(130 * 200);
  EXPECT_TRUE(DequantizeFp8BlockScaled(grid, weight, scale, 0, out).ok());

  std::vector<float> bad_scale(2);
  Status st = DequantizeFp8BlockScaled(grid, weight, bad_scale, 0, out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("[2, 2]"), std::string::npos) << st.message();

  std::vector<uint8_t> short_weight(130 * 199);
  EXPECT_EQ(DequantizeFp8BlockScaled(grid, short_weight, scale, 0, out).code(),
            StatusCode::kInvalidArgument);

  std::vector<float> slab(2 * 200);
  EXPECT_TRUE(DequantizeFp8BlockScaled(grid, weight, scale, 128, slab).ok());
  EXPECT_EQ(DequantizeFp8BlockScaled(grid, weight, scale, 129, slab).code(),
            StatusCode::kInvalidArgument);
  std::vector<float> ragged(199);
  EXPECT_EQ(DequantizeFp8BlockScaled(grid, weight, scale, 0, ragged).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DequantizeFp8BlockScaled(Fp8BlockGrid{130, 200, 0, 128}, weight, scale, 0, out).code(),
            StatusCode::kInvalidArgument);
}

TEST(Mxfp4, DecodesGptOssNibbleOrderAndScale) {
  // Byte 0x21: element 0 = code 1 (0.5), element 1 = code 2 (1.0). Byte 0xF9: -0.5 then -6.
  std::vector<uint8_t> blocks(32, 0);
  blocks[0] = 0x21;
  blocks[1] = 0xF9;
  blocks[16] = 0x7F;                               // second group: -6, 6
  const std::vector<uint8_t> scales = {127, 129};  // 1 and 4
  std::vector<float> out(64);
  ASSERT_TRUE(DecodeMxfp4(blocks, scales, out).ok());
  EXPECT_EQ(out[0], 0.5f);
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_EQ(out[2], -0.5f);
  EXPECT_EQ(out[3], -6.0f);
  EXPECT_EQ(out[4], 0.0f);
  EXPECT_EQ(out[32], -24.0f);
  EXPECT_EQ(out[33], 24.0f);
  for (int code = 0; code < 16; ++code) {
    const double mag = std::fabs(Fp4E2M1ToF32(static_cast<uint8_t>(code)));
    const double want[] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
    EXPECT_EQ(mag, want[code & 7]);
  }
  const std::vector<uint8_t> nan_scale = {255};
  std::vector<float> one(32);
  ASSERT_TRUE(DecodeMxfp4(std::span(blocks).first(16), nan_scale, one).ok());
  EXPECT_TRUE(std::isnan(one[0]));
}

TEST(Mxfp4, RefusesMismatchedSizes) {
  std::vector<uint8_t> blocks(32);
  std::vector<uint8_t> scales(3);
  std::vector<float> out(64);
  Status st = DecodeMxfp4(blocks, scales, out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("32 block bytes for 3 scales"), std::string::npos) << st.message();
  scales.resize(2);
  std::vector<float> short_out(63);
  EXPECT_EQ(DecodeMxfp4(blocks, scales, short_out).code(), StatusCode::kInvalidArgument);
  std::vector<uint8_t> ragged(31);
  std::vector<uint8_t> one_scale(1);
  std::vector<float> out32(32);
  EXPECT_EQ(DecodeMxfp4(ragged, one_scale, out32).code(), StatusCode::kInvalidArgument);
}

TEST(DecodeToF32, WidensEachFloatDType) {
  std::vector<float> out(2);
  const uint8_t f16[] = {0x00, 0x3C, 0x00, 0xC0};  // 1.0, -2.0
  ASSERT_TRUE(DecodeToF32(DType::kF16, f16, out).ok());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  const uint8_t bf16[] = {0x80, 0x3F, 0x40, 0xC0};  // 1.0, -3.0
  ASSERT_TRUE(DecodeToF32(DType::kBF16, bf16, out).ok());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -3.0f);
  const uint8_t e4m3[] = {0x7E, 0x01};
  ASSERT_TRUE(DecodeToF32(DType::kF8E4M3, e4m3, out).ok());
  EXPECT_EQ(out[0], 448.0f);
  EXPECT_EQ(out[1], 0x1p-9f);
  const uint8_t e5m2[] = {0x3C, 0x7C};
  ASSERT_TRUE(DecodeToF32(DType::kF8E5M2, e5m2, out).ok());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], INFINITY);
  const uint8_t e8m0[] = {127, 130};
  ASSERT_TRUE(DecodeToF32(DType::kF8E8M0, e8m0, out).ok());
  EXPECT_EQ(out[1], 8.0f);
  const float f32[] = {3.5f, -0.25f};
  uint8_t f32_bytes[8];
  std::memcpy(f32_bytes, f32, 8);
  ASSERT_TRUE(DecodeToF32(DType::kF32, f32_bytes, out).ok());
  EXPECT_EQ(out[1], -0.25f);
}

TEST(DecodeToF32, RefusesOtherDTypesAndWrongSizes) {
  std::vector<float> out(2);
  const uint8_t bytes[8] = {};
  EXPECT_EQ(DecodeToF32(DType::kI32, bytes, out).code(), StatusCode::kUnsupported);
  EXPECT_EQ(DecodeToF32(DType::kF4, std::span(bytes, 1), out).code(), StatusCode::kUnsupported);
  const Status st = DecodeToF32(DType::kBF16, std::span(bytes, 3), out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("BF16"), std::string::npos) << st.message();
  EXPECT_EQ(DecodeToF32(DType::kF16, std::span(bytes, 6), out).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace moedist
