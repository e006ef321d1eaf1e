// MatMul's two paths (row-wise and sgemm) agree with a double-precision reference for every
// weight dtype and layout, including strided column views (Llama-4's gate half).
#include "runtime-min/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "quant/half_float.h"
#include "runtime-min/kernels.h"

namespace moedist {
namespace {

struct Layout {
  DType dtype;
  bool in_major;
  int64_t extra_stride;  // stored row longer than the view (a column slice)
  int64_t n;             // token rows
};

class MatMulTest : public ::testing::TestWithParam<Layout> {};

TEST_P(MatMulTest, BothPathsMatchReference) {
  const Layout p = GetParam();
  const int64_t in = 67, out = 45;  // odd sizes exercise the vector tails
  const int64_t stored_rows = p.in_major ? in : out;
  const int64_t stride = (p.in_major ? out : in) + p.extra_stride;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> wf(stored_rows * stride);
  for (float& v : wf) v = dist(rng);
  const int64_t esize = DTypeBits(p.dtype) / 8;
  std::vector<uint8_t> bytes(wf.size() * esize + 2);
  uint8_t* base = bytes.data() + 2;  // deliberately misaligned for f32
  for (size_t i = 0; i < wf.size(); ++i) {
    if (p.dtype == DType::kF32) std::memcpy(base + 4 * i, &wf[i], 4);
    if (p.dtype == DType::kBF16) {
      uint16_t h = F32ToBF16(wf[i]);
      std::memcpy(base + 2 * i, &h, 2);
    }
    if (p.dtype == DType::kF16) {
      uint16_t h = F32ToF16(wf[i]);
      std::memcpy(base + 2 * i, &h, 2);
    }
  }
  // The weights as the kernels will see them (rounded to the dtype).
  std::vector<float> wr(wf.size());
  ConvertToF32(base, p.dtype, static_cast<int64_t>(wf.size()), wr.data());
  const QuantType type = p.dtype == DType::kF32    ? QuantType::kF32
                         : p.dtype == DType::kBF16 ? QuantType::kBF16
                                                   : QuantType::kF16;
  WeightMatrix w{base, type, out, in, p.in_major, stride * esize, 0};
  std::vector<float> x(p.n * in);
  for (float& v : x) v = dist(rng);
  std::vector<float> y1(p.n * out), y2(p.n * out);
  MatMulRowwise(x.data(), p.n, w, y1.data());
  MatMulGemm(x.data(), p.n, w, y2.data());
  for (int64_t t = 0; t < p.n; ++t) {
    for (int64_t o = 0; o < out; ++o) {
      double want = 0;
      for (int64_t i = 0; i < in; ++i) {
        const float wv = p.in_major ? wr[i * stride + o] : wr[o * stride + i];
        want += static_cast<double>(x[t * in + i]) * wv;
      }
      EXPECT_NEAR(y1[t * out + o], want, 1e-4) << "rowwise t=" << t << " o=" << o;
      EXPECT_NEAR(y2[t * out + o], want, 1e-4) << "gemm t=" << t << " o=" << o;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, MatMulTest,
    ::testing::Values(Layout{DType::kF32, false, 0, 1}, Layout{DType::kF32, false, 0, 9},
                      Layout{DType::kBF16, false, 0, 3}, Layout{DType::kBF16, false, 5, 12},
                      Layout{DType::kF16, false, 0, 10}, Layout{DType::kF32, true, 0, 2},
                      Layout{DType::kBF16, true, 45, 11}, Layout{DType::kF16, true, 3, 1}));

TEST(KernelsTest, F16Conversions) {
  EXPECT_EQ(F16ToF32(0x3C00), 1.0f);
  EXPECT_EQ(F16ToF32(0xC000), -2.0f);
  EXPECT_EQ(F16ToF32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_TRUE(std::isinf(F16ToF32(0x7C00)));
  EXPECT_EQ(BF16ToF32(0x3F80), 1.0f);
}

}  // namespace
}  // namespace moedist
