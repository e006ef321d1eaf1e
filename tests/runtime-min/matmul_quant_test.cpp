// Block-quantized weights in MatMul: both paths (row-wise and sgemm) compute with exactly the
// values quant/'s DequantizeRow decodes, for every block type, for [out, in] rows and for
// Llama-4's in-major column views whose start is not on a block boundary; DecodeWeightRow
// returns any range of a stored row.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "quant/quantize.h"
#include "runtime-min/matmul.h"
#include "runtime-min/weight_matrix.h"

namespace moedist {
namespace {

const QuantType kBlockTypes[] = {QuantType::kQ8_0, QuantType::kQ4_0, QuantType::kQ2_K,
                                 QuantType::kQ3_K, QuantType::kQ4_K, QuantType::kQ5_K,
                                 QuantType::kQ6_K};

// A [rows, row_length] tensor of N(0, 1) values in `type`, and its values decoded back.
struct QuantizedRows {
  std::vector<uint8_t> bytes;
  std::vector<float> values;
  int64_t row_bytes = 0;
};

QuantizedRows MakeRows(QuantType type, int64_t rows, int64_t row_length, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> src(rows * row_length);
  for (float& v : src) v = dist(rng);
  QuantizedRows q;
  q.row_bytes = static_cast<int64_t>(*QuantRowBytes(type, row_length));
  q.bytes.resize(rows * q.row_bytes);
  EXPECT_TRUE(QuantizeRows(type, src, row_length, q.bytes).ok());
  q.values.resize(src.size());
  EXPECT_TRUE(DequantizeRow(type, q.bytes, q.values).ok());
  return q;
}

// y = x · W in double, W given by weight(o, i).
template <typename Weight>
std::vector<double> Reference(const std::vector<float>& x, int64_t n, int64_t in, int64_t out,
                              Weight weight) {
  std::vector<double> y(n * out);
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t o = 0; o < out; ++o) {
      double s = 0;
      for (int64_t i = 0; i < in; ++i) s += double(x[t * in + i]) * weight(o, i);
      y[t * out + o] = s;
    }
  }
  return y;
}

void ExpectBothPaths(const WeightMatrix& w, const std::vector<float>& x, int64_t n,
                     const std::vector<double>& want, const std::string& what) {
  std::vector<float> rowwise(n * w.out), gemm(n * w.out);
  MatMulRowwise(x.data(), n, w, rowwise.data());
  MatMulGemm(x.data(), n, w, gemm.data());
  // f32 accumulation over `in` products of N(0,1) terms: error ~ sqrt(in) * eps * |terms|.
  const double tol = 1e-5 * w.in;
  for (int64_t k = 0; k < n * w.out; ++k) {
    ASSERT_NEAR(rowwise[k], want[k], tol) << what << " rowwise, element " << k;
    ASSERT_NEAR(gemm[k], want[k], tol) << what << " gemm, element " << k;
  }
}

std::vector<float> Activations(int64_t n, int64_t in) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n * in);
  for (float& v : x) v = dist(rng);
  return x;
}

TEST(MatMulQuant, OutMajorRowsMatchDequantizedReference) {
  for (QuantType type : kBlockTypes) {
    const int64_t in = 512, out = 45;
    const QuantizedRows q = MakeRows(type, out, in, 3);
    const WeightMatrix w{q.bytes.data(), type, out, in, false, q.row_bytes, 0};
    for (int64_t n : {1, 3, 9}) {
      const std::vector<float> x = Activations(n, in);
      auto want =
          Reference(x, n, in, out, [&](int64_t o, int64_t i) { return q.values[o * in + i]; });
      ExpectBothPaths(w, x, n, want, std::string(QuantTypeName(type)) + " n=" + std::to_string(n));
    }
  }
}

// Llama-4's gate_up [H, 2I] as x @ W: stored rows are input features of 2I values; the up half
// is the view that starts I values in. I = 160 (q8_0 / q4_0: five blocks; k-quants: inside
// the first super-block) and I = 144 (not a multiple of 32 either): views start mid-block.
TEST(MatMulQuant, InMajorColumnViewsStartingMidBlock) {
  for (QuantType type : kBlockTypes) {
    const int64_t block = GetQuantTypeInfo(type).block_elements;
    for (int64_t half : {int64_t{160}, int64_t{144}, int64_t{256}}) {
      const int64_t row_length = ((2 * half + block - 1) / block) * block;  // padded to a block
      const int64_t in = 40;
      const QuantizedRows q = MakeRows(type, in, row_length, 5);
      for (int64_t offset : {int64_t{0}, half}) {
        const WeightMatrix w{q.bytes.data(), type, half, in, true, q.row_bytes, offset};
        for (int64_t n : {1, 10}) {
          const std::vector<float> x = Activations(n, in);
          auto want = Reference(x, n, in, half, [&](int64_t o, int64_t i) {
            return q.values[i * row_length + offset + o];
          });
          ExpectBothPaths(w, x, n, want,
                          std::string(QuantTypeName(type)) + " I=" + std::to_string(half) +
                              " offset=" + std::to_string(offset) + " n=" + std::to_string(n));
        }
      }
    }
  }
}

TEST(MatMulQuant, DecodeWeightRowReturnsAnyRange) {
  for (QuantType type : kBlockTypes) {
    const int64_t len = 768;
    const QuantizedRows q = MakeRows(type, 3, len, 9);
    const WeightMatrix w{q.bytes.data(), type, 3, len, false, q.row_bytes, 0};
    for (auto [begin, count] : {std::pair<int64_t, int64_t>{0, 768},
                                {1, 30},
                                {31, 2},
                                {250, 300},
                                {255, 1},
                                {256, 512},
                                {700, 68}}) {
      std::vector<float> got(count);
      DecodeWeightRow(w, 2, begin, count, got.data());
      for (int64_t k = 0; k < count; ++k) {
        ASSERT_EQ(got[k], q.values[2 * len + begin + k])
            << QuantTypeName(type) << " range [" << begin << ", " << begin + count << ") at " << k;
      }
    }
  }
}

}  // namespace
}  // namespace moedist
