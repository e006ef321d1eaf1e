// The scalar helpers the ggml-identical kernels rest on.
#include "quant/ggml_kernels.h"

#include <gtest/gtest.h>

#include <bit>
#include <cfenv>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/ggml_blocks.h"

namespace moedist::kernels {
namespace {

// ggml's nearest_int is round-half-to-even inside its valid range |v| < 2^22.
TEST(GgmlKernelHelpers, NearestIntIsRoundHalfEvenInRange) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  for (const float v :
       {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, 4194303.0f, -4194303.0f}) {
    EXPECT_EQ(NearestInt(v), static_cast<int>(std::nearbyint(v))) << v;
  }
  for (uint64_t u = 0; u <= 0xFFFFFFFFull; u += 9973) {
    const float v = std::bit_cast<float>(static_cast<uint32_t>(u));
    if (!(std::fabs(v) < 4194303.0f)) continue;
    ASSERT_EQ(NearestInt(v), static_cast<int>(std::nearbyint(v))) << v;
  }
}

// RoundToInt8 replaces TruncToInt8(roundf(v)); they must agree on every float, including
// halves, values past int8 (kept as the low byte) and past int32 (0, like cvttss2si).
TEST(GgmlKernelHelpers, RoundToInt8AgreesWithTruncOfRoundf) {
  for (const float v :
       {0.5f, -0.5f, 1.5f, 2.5f, -2.5f, 126.5f, 127.49998f, -127.5f, 300.7f, 0.49999997f,
        -0.49999997f, 8388607.5f, 3e9f, -3e9f, INFINITY, -INFINITY, NAN}) {
    EXPECT_EQ(RoundToInt8(v), TruncToInt8(std::round(v))) << v;
  }
  for (uint64_t u = 0; u <= 0xFFFFFFFFull; u += 7919) {
    const float v = std::bit_cast<float>(static_cast<uint32_t>(u));
    ASSERT_EQ(RoundToInt8(v), TruncToInt8(std::round(v))) << v;
  }
  EXPECT_EQ(TruncToInt8(200.0f), static_cast<int8_t>(-56));  // low byte of 200
  EXPECT_EQ(TruncToInt8(-1.9f), -1);
  EXPECT_EQ(TruncToInt8(5e9f), 0);
}

// The SIMD-lane searches must equal the scalar reference byte for byte on every kind of
// sub-block: Gaussian, flat (max == min), all-zero, tiny, huge, single outliers, positive-only
// (min clamps to 0), mixed within one super-block so lanes take different branches.
TEST(GgmlKernelLanes, LaneQuantizersEqualScalarReference) {
  std::mt19937 rng(2024);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::uniform_int_distribution<int> kind_of(0, 9);
  const int blocks = 3000;
  std::vector<float> x(size_t{blocks} * kQkK);
  for (size_t sb = 0; sb < x.size() / 16; ++sb) {  // pick a distribution per 16 values
    const int kind = kind_of(rng);
    const float scale = std::ldexp(1.0f, static_cast<int>(rng() % 40) - 30);
    for (size_t i = 16 * sb; i < 16 * sb + 16; ++i) {
      switch (kind) {
        case 0: x[i] = 0.0f; break;
        case 1: x[i] = 0.75f * scale; break;                  // flat
        case 2: x[i] = std::fabs(gauss(rng)) * scale; break;  // positive only
        case 3: x[i] = -std::fabs(gauss(rng)) * scale; break;
        case 4: x[i] = (i % 16 == 3) ? 50.0f * scale : 0.01f * gauss(rng) * scale; break;
        case 5: x[i] = gauss(rng) * 1e-20f; break;
        case 6: x[i] = static_cast<float>(static_cast<int>(rng() % 9) - 4) * 0.5f; break;  // ties
        default: x[i] = gauss(rng) * scale; break;
      }
    }
  }
  std::vector<uint8_t> fast(size_t{blocks} * sizeof(BlockQ6_K));
  std::vector<uint8_t> scalar(fast.size());
  QuantizeQ4_K(x.data(), fast.data(), blocks);
  QuantizeQ4_KScalar(x.data(), scalar.data(), blocks);
  for (int b = 0; b < blocks; ++b) {
    ASSERT_EQ(std::memcmp(&fast[b * sizeof(BlockQ4_K)], &scalar[b * sizeof(BlockQ4_K)],
                          sizeof(BlockQ4_K)),
              0)
        << "q4_k super-block " << b;
  }
  QuantizeQ5_K(x.data(), fast.data(), blocks);
  QuantizeQ5_KScalar(x.data(), scalar.data(), blocks);
  for (int b = 0; b < blocks; ++b) {
    ASSERT_EQ(std::memcmp(&fast[b * sizeof(BlockQ5_K)], &scalar[b * sizeof(BlockQ5_K)],
                          sizeof(BlockQ5_K)),
              0)
        << "q5_k super-block " << b;
  }
  QuantizeQ6_K(x.data(), fast.data(), blocks);
  QuantizeQ6_KScalar(x.data(), scalar.data(), blocks);
  for (int b = 0; b < blocks; ++b) {
    ASSERT_EQ(std::memcmp(&fast[b * sizeof(BlockQ6_K)], &scalar[b * sizeof(BlockQ6_K)],
                          sizeof(BlockQ6_K)),
              0)
        << "q6_k super-block " << b;
  }
}

}  // namespace
}  // namespace moedist::kernels
