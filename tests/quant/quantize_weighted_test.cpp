// QuantizeRowsWeighted: what importance weights change and what they must not; refusal of bad
// weights. (Byte identity with ggml's weighted quantizers is tests/quant/ggml_identity_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "quant/quantize.h"

namespace moedist {
namespace {

constexpr size_t kRow = 512;

std::vector<float> Gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

// Importance concentrated on one column in eight, as an imatrix of a layer whose inputs have a
// few large channels looks.
std::vector<float> SkewedImportance() {
  std::vector<float> w(kRow);
  for (size_t i = 0; i < kRow; ++i) w[i] = i % 8 == 3 ? 100.0f : 0.01f;
  return w;
}

double WeightedSquaredError(QuantType type, const std::vector<float>& x,
                            const std::vector<uint8_t>& q, const std::vector<float>& w) {
  std::vector<float> y(x.size());
  EXPECT_TRUE(DequantizeRow(type, q, y).ok());
  double err = 0;
  for (size_t i = 0; i < x.size(); ++i) err += w[i % kRow] * (double(x[i]) - y[i]) * (x[i] - y[i]);
  return err;
}

class Weighted : public ::testing::TestWithParam<QuantType> {};

// The weighted searches trade error on unimportant columns for error on important ones.
TEST_P(Weighted, LowersTheImportanceWeightedError) {
  const QuantType type = GetParam();
  const auto x = Gaussian(16 * kRow, 7);
  const auto w = SkewedImportance();
  std::vector<uint8_t> plain(QuantTensorBytes(type, 16, kRow).value());
  std::vector<uint8_t> weighted(plain.size());
  ASSERT_TRUE(QuantizeRows(type, x, kRow, plain).ok());
  ASSERT_TRUE(QuantizeRowsWeighted(type, x, kRow, w, weighted).ok());
  const double e_plain = WeightedSquaredError(type, x, plain, w);
  const double e_weighted = WeightedSquaredError(type, x, weighted, w);
  std::printf("  %-5s weighted error with importance / without: %.3f\n",
              std::string(QuantTypeName(type)).c_str(), e_weighted / e_plain);
  EXPECT_LT(e_weighted, 0.9 * e_plain);
}

// Rows are independent and share the one importance vector.
TEST_P(Weighted, MultiRowEqualsRowByRow) {
  const QuantType type = GetParam();
  const auto x = Gaussian(3 * kRow, 9);
  const auto w = SkewedImportance();
  const uint64_t row_bytes = QuantRowBytes(type, kRow).value();
  std::vector<uint8_t> all(3 * row_bytes);
  ASSERT_TRUE(QuantizeRowsWeighted(type, x, kRow, w, all).ok());
  for (size_t r = 0; r < 3; ++r) {
    std::vector<uint8_t> one(row_bytes);
    ASSERT_TRUE(
        QuantizeRowsWeighted(type, std::span(x).subspan(r * kRow, kRow), kRow, w, one).ok());
    EXPECT_TRUE(std::equal(one.begin(), one.end(), all.begin() + r * row_bytes)) << r;
  }
}

TEST_P(Weighted, NoImportanceIsThePlainQuantizer) {
  const QuantType type = GetParam();
  const auto x = Gaussian(2 * kRow, 11);
  std::vector<uint8_t> plain(QuantTensorBytes(type, 2, kRow).value());
  std::vector<uint8_t> none(plain.size());
  ASSERT_TRUE(QuantizeRows(type, x, kRow, plain).ok());
  ASSERT_TRUE(QuantizeRowsWeighted(type, x, kRow, {}, none).ok());
  EXPECT_EQ(plain, none);
}

TEST_P(Weighted, BadImportanceIsRefusedNamingTheIndex) {
  const QuantType type = GetParam();
  const auto x = Gaussian(kRow, 13);
  std::vector<uint8_t> q(QuantRowBytes(type, kRow).value());
  std::vector<float> w(kRow, 1.0f);
  for (const float bad : {-1.0f, std::numeric_limits<float>::quiet_NaN(), INFINITY}) {
    w[301] = bad;
    const Status st = QuantizeRowsWeighted(type, x, kRow, w, q);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("301"), std::string::npos) << st.message();
  }
  const std::vector<float> short_w(kRow - 1, 1.0f);
  const Status st = QuantizeRowsWeighted(type, x, kRow, short_w, q);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find(std::to_string(kRow - 1)), std::string::npos) << st.message();
}

INSTANTIATE_TEST_SUITE_P(Types, Weighted,
                         ::testing::Values(QuantType::kQ4_0, QuantType::kQ2_K, QuantType::kQ3_K,
                                           QuantType::kQ4_K, QuantType::kQ5_K, QuantType::kQ6_K),
                         [](const auto& info) { return std::string(QuantTypeName(info.param)); });

// ggml quantizes q8_0 (and the float types) without weights; so does moedist, still checking
// them.
TEST(WeightedIgnored, Q8_0AndFloatsIgnoreValidWeights) {
  const auto x = Gaussian(kRow, 15);
  const auto w = SkewedImportance();
  for (const QuantType type : {QuantType::kQ8_0, QuantType::kF16, QuantType::kBF16}) {
    std::vector<uint8_t> plain(QuantRowBytes(type, kRow).value());
    std::vector<uint8_t> weighted(plain.size());
    ASSERT_TRUE(QuantizeRows(type, x, kRow, plain).ok());
    ASSERT_TRUE(QuantizeRowsWeighted(type, x, kRow, w, weighted).ok());
    EXPECT_EQ(plain, weighted) << QuantTypeName(type);
    std::vector<float> bad(kRow, -1.0f);
    EXPECT_FALSE(QuantizeRowsWeighted(type, x, kRow, bad, weighted).ok()) << QuantTypeName(type);
  }
}

}  // namespace
}  // namespace moedist
