// F16 and BF16 conversions: exhaustive over all 65536 bit patterns of each format, every
// rounding tie between neighbouring values, and (where the compiler has _Float16) a sweep of
// f32 inputs against the compiler's own conversion.
#include "quant/half_float.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <vector>

namespace moedist {
namespace {

// Straightforward decoding from the IEEE 754 definition, in double.
double F16Reference(uint16_t h) {
  const int sign = (h & 0x8000) ? -1 : 1;
  const int exp = (h >> 10) & 0x1F;
  const int mant = h & 0x3FF;
  if (exp == 0x1F) return mant ? std::nan("") : sign * INFINITY;
  if (exp == 0) return sign * std::ldexp(mant, -24);
  return sign * std::ldexp(1024 + mant, exp - 25);
}

bool IsF16NaN(uint16_t h) {
  return (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
}

TEST(F16, DecodesAll65536PatternsLikeTheDefinition) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float got = F16ToF32(static_cast<uint16_t>(h));
    const double want = F16Reference(static_cast<uint16_t>(h));
    if (IsF16NaN(static_cast<uint16_t>(h))) {
      ASSERT_TRUE(std::isnan(got)) << h;
      // Sign and payload travel to the top of the f32 mantissa.
      EXPECT_EQ(std::bit_cast<uint32_t>(got),
                ((h & 0x8000u) << 16) | 0x7F800000u | ((h & 0x3FFu) << 13));
      continue;
    }
    ASSERT_EQ(static_cast<double>(got), want) << std::hex << h;
    ASSERT_EQ(std::signbit(got), (h & 0x8000) != 0) << std::hex << h;
  }
}

TEST(F16, EncodesEveryHalfValueBackToItsPattern) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    const uint16_t back = F32ToF16(F16ToF32(bits));
    if (IsF16NaN(bits)) {
      EXPECT_EQ(back, (bits & 0x8000) | 0x7E00) << std::hex << h;  // canonical quiet NaN
    } else {
      ASSERT_EQ(back, bits) << std::hex << h;
    }
  }
}

// Between each pair of neighbouring finite halves: the midpoint goes to the even one, and one
// f32 ulp either side of it goes to the nearer one. Covers normal and subnormal spacing.
TEST(F16, RoundsEveryTieToEvenAndEveryNearTieToNearest) {
  for (uint16_t a = 0; a < 0x7BFF; ++a) {
    const auto b = static_cast<uint16_t>(a + 1);
    const float mid = static_cast<float>((F16Reference(a) + F16Reference(b)) / 2);  // exact
    const uint16_t even = (a & 1) ? b : a;
    for (const uint16_t sign : {uint16_t{0}, uint16_t{0x8000}}) {
      const float s = sign ? -1.0f : 1.0f;
      ASSERT_EQ(F32ToF16(s * mid), sign | even) << std::hex << a;
      ASSERT_EQ(F32ToF16(s * std::nextafter(mid, 0.0f)), sign | a) << std::hex << a;
      ASSERT_EQ(F32ToF16(s * std::nextafter(mid, INFINITY)), sign | b) << std::hex << a;
    }
  }
}

TEST(F16, HandlesOverflowUnderflowAndSpecials) {
  EXPECT_EQ(F32ToF16(65504.0f), 0x7BFF);
  EXPECT_EQ(F32ToF16(std::nextafter(65520.0f, 0.0f)), 0x7BFF);
  EXPECT_EQ(F32ToF16(65520.0f), 0x7C00);  // the tie above the maximum rounds to infinity
  EXPECT_EQ(F32ToF16(1e9f), 0x7C00);
  EXPECT_EQ(F32ToF16(-1e9f), 0xFC00);
  EXPECT_EQ(F32ToF16(INFINITY), 0x7C00);
  EXPECT_EQ(F32ToF16(-INFINITY), 0xFC00);
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -25)), 0x0000);  // tie to zero (even)
  EXPECT_EQ(F32ToF16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToF16(1e-45f), 0x0000);  // f32 subnormals vanish
  EXPECT_EQ(F32ToF16(-std::nanf("")), 0xFE00);
}

#ifdef __FLT16_MAX__
// The compiler's _Float16 conversion (libgcc soft-float or hardware) is an independent oracle.
TEST(F16, MatchesCompilerFloat16OnAStridedSweepOfAllF32) {
  uint64_t checked = 0;
  for (uint64_t u = 0; u <= 0xFFFFFFFFull; u += 4093) {
    const float f = std::bit_cast<float>(static_cast<uint32_t>(u));
    if (std::isnan(f)) continue;
    const auto want = std::bit_cast<uint16_t>(static_cast<_Float16>(f));
    ASSERT_EQ(F32ToF16(f), want) << std::hex << u;
    ++checked;
  }
  EXPECT_GT(checked, 1000000u);
}
#endif

TEST(BF16, DecodesAndReencodesAll65536Patterns) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    const float f = BF16ToF32(bits);
    ASSERT_EQ(std::bit_cast<uint32_t>(f), h << 16);
    const bool nan = (h & 0x7F80) == 0x7F80 && (h & 0x7F);
    if (nan) {
      // NaN stays NaN with its sign and payload; the quiet bit is set.
      ASSERT_EQ(F32ToBF16(f), bits | 0x0040) << std::hex << h;
    } else {
      ASSERT_EQ(F32ToBF16(f), bits) << std::hex << h;  // subnormals are kept, not flushed
    }
  }
}

TEST(BF16, RoundsEveryTieToEvenAndEveryNearTieToNearest) {
  for (uint32_t a = 0; a < 0x7F7F; ++a) {  // every finite non-negative pair a, a + 1
    const uint32_t mid = (a << 16) | 0x8000u;
    const uint32_t even = (a & 1) ? a + 1 : a;
    for (const uint32_t sign : {0u, 0x80000000u}) {
      ASSERT_EQ(F32ToBF16(std::bit_cast<float>(sign | mid)), (sign >> 16) | even) << std::hex << a;
      ASSERT_EQ(F32ToBF16(std::bit_cast<float>(sign | (mid - 1))), (sign >> 16) | a)
          << std::hex << a;
      ASSERT_EQ(F32ToBF16(std::bit_cast<float>(sign | (mid + 1))), (sign >> 16) | (a + 1))
          << std::hex << a;
    }
  }
  EXPECT_EQ(F32ToBF16(std::bit_cast<float>(0x7F7F8000u)), 0x7F80);  // tie above max: infinity
  EXPECT_EQ(F32ToBF16(INFINITY), 0x7F80);
  EXPECT_EQ(F32ToBF16(-INFINITY), 0xFF80);
  EXPECT_EQ(F32ToBF16(std::bit_cast<float>(0x7F800001u)), 0x7FC0);  // signalling NaN made quiet
}

TEST(HalfRows, ConvertWholeRowsAndRefuseMismatchedSizes) {
  const std::vector<float> in = {1.0f, -2.5f, 65504.0f, 1e-8f};
  std::vector<uint16_t> h(4);
  std::vector<float> back(4);
  ASSERT_TRUE(F32ToF16Row(in, h).ok());
  ASSERT_TRUE(F16ToF32Row(h, back).ok());
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[1], -2.5f);
  EXPECT_EQ(back[2], 65504.0f);
  ASSERT_TRUE(F32ToBF16Row(in, h).ok());
  ASSERT_TRUE(BF16ToF32Row(h, back).ok());
  EXPECT_EQ(back[1], -2.5f);
  std::vector<uint16_t> short_out(3);
  const Status st = F32ToF16Row(in, short_out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("3"), std::string::npos);
  EXPECT_NE(st.message().find("4"), std::string::npos);
  EXPECT_FALSE(BF16ToF32Row(short_out, back).ok());
}

}  // namespace
}  // namespace moedist
