// Byte identity with real ggml: tests/quant/data/ggml_* were produced by ggml's own
// quantize_row_*_ref / dequantize_row_* / ggml_fp32_to_{fp16,bf16} (libggml-base.so from npm
// @node-llama-cpp/linux-x64, see tests/quant/ggmlref/README.md), and by its importance-weighted
// quantize_<type>. Each case must match exactly.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "quant/fp8.h"
#include "quant/half_float.h"
#include "quant/mxfp4.h"
#include "quant/quantize.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

const std::string kDataDir = std::string(moedist::test_dirs::SourceDir()) + "/tests/quant/data/";

std::vector<uint8_t> ReadBytes(const std::string& name) {
  std::ifstream in(kDataDir + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing test vector " << kDataDir + name;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <typename T>
std::vector<T> ReadArray(const std::string& name) {
  const std::vector<uint8_t> bytes = ReadBytes(name);
  EXPECT_EQ(bytes.size() % sizeof(T), 0u) << name;
  std::vector<T> out(bytes.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

struct Manifest {
  size_t case_elements = 0;
  std::vector<std::string> case_names;
};

Manifest ReadManifest() {
  std::ifstream in(kDataDir + "ggml_manifest.txt");
  Manifest m;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key;
    words >> key;
    if (key == "case_elements") words >> m.case_elements;
    if (key == "case") {
      size_t index = 0;
      std::string name;
      words >> index >> name;
      m.case_names.push_back(std::to_string(index) + ":" + name);
    }
  }
  return m;
}

// Reports the first differing byte and its block, rather than a wall of bytes.
void ExpectSameBytes(QuantType type, const std::vector<uint8_t>& got, const uint8_t* want) {
  size_t first_diff = got.size();
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      first_diff = i;
      break;
    }
  }
  EXPECT_EQ(first_diff, got.size()) << "first differing byte " << first_diff << " (block "
                                    << first_diff / GetQuantTypeInfo(type).block_bytes << ")";
}

struct BlockCase {
  QuantType type;
  const char* file;  // ggml_<file>.bin and ggml_<file>_dequant.f32
};

class GgmlIdentity : public ::testing::TestWithParam<BlockCase> {};

TEST_P(GgmlIdentity, QuantizeAndDequantizeMatchGgmlBytes) {
  const BlockCase& c = GetParam();
  const Manifest manifest = ReadManifest();
  ASSERT_GT(manifest.case_elements, 0u);
  const auto inputs = ReadArray<float>("ggml_inputs.f32");
  const auto expected_q = ReadBytes(std::string("ggml_") + c.file + ".bin");
  const auto expected_dq = ReadArray<uint32_t>(std::string("ggml_") + c.file + "_dequant.f32");
  const size_t n = manifest.case_elements;
  const size_t cases = manifest.case_names.size();
  ASSERT_EQ(inputs.size(), cases * n);
  const auto row_bytes = QuantRowBytes(c.type, n);
  ASSERT_TRUE(row_bytes.ok());
  ASSERT_EQ(expected_q.size(), cases * *row_bytes);
  ASSERT_EQ(expected_dq.size(), cases * n);

  for (size_t k = 0; k < cases; ++k) {
    SCOPED_TRACE(manifest.case_names[k]);
    std::vector<uint8_t> q(*row_bytes);
    ASSERT_TRUE(QuantizeRow(c.type, std::span(inputs).subspan(k * n, n), q).ok());
    const uint8_t* want = expected_q.data() + k * *row_bytes;
    ExpectSameBytes(c.type, q, want);
    // Dequantize ggml's bytes (not ours) so this checks decoding on its own.
    std::vector<float> dq(n);
    ASSERT_TRUE(DequantizeRow(c.type, std::span(want, *row_bytes), dq).ok());
    for (size_t i = 0; i < n; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &dq[i], 4);
      ASSERT_EQ(bits, expected_dq[k * n + i]) << "value " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Types, GgmlIdentity,
    ::testing::Values(BlockCase{QuantType::kQ8_0, "q8_0"}, BlockCase{QuantType::kQ4_0, "q4_0"},
                      BlockCase{QuantType::kQ4_K, "q4_k"}, BlockCase{QuantType::kQ6_K, "q6_k"},
                      BlockCase{QuantType::kQ5_K, "q5_k"}, BlockCase{QuantType::kQ3_K, "q3_k"},
                      BlockCase{QuantType::kQ2_K, "q2_k"}),
    [](const auto& info) { return std::string(info.param.file); });

// ggml's quantize_<type>(x, dst, 1, n, imatrix) with each case's saved importance weights
// (ggml_imatrix.f32: zeros, 1e-30 and 1e-38 weights, an all-zero super-block among them).
class GgmlIdentityWeighted : public ::testing::TestWithParam<BlockCase> {};

TEST_P(GgmlIdentityWeighted, ImportanceWeightedQuantizeMatchesGgmlBytes) {
  const BlockCase& c = GetParam();
  const Manifest manifest = ReadManifest();
  const auto inputs = ReadArray<float>("ggml_inputs.f32");
  const auto importance = ReadArray<float>("ggml_imatrix.f32");
  const auto expected = ReadBytes(std::string("ggml_") + c.file + "_imatrix.bin");
  const size_t n = manifest.case_elements;
  const size_t cases = manifest.case_names.size();
  ASSERT_GT(n, 0u);
  ASSERT_EQ(inputs.size(), cases * n);
  ASSERT_EQ(importance.size(), cases * n);
  const size_t row_bytes = QuantRowBytes(c.type, n).value();
  ASSERT_EQ(expected.size(), cases * row_bytes);

  size_t differs_from_plain = 0;
  for (size_t k = 0; k < cases; ++k) {
    SCOPED_TRACE(manifest.case_names[k]);
    const auto x = std::span(inputs).subspan(k * n, n);
    std::vector<uint8_t> q(row_bytes);
    ASSERT_TRUE(
        QuantizeRowsWeighted(c.type, x, n, std::span(importance).subspan(k * n, n), q).ok());
    const uint8_t* want = expected.data() + k * row_bytes;
    ExpectSameBytes(c.type, q, want);
    std::vector<uint8_t> plain(row_bytes);
    ASSERT_TRUE(QuantizeRow(c.type, x, plain).ok());
    if (plain != q) ++differs_from_plain;
  }
  // The weights must reach the searches (q8_0 is the one type ggml quantizes without them).
  if (c.type == QuantType::kQ8_0) {
    EXPECT_EQ(differs_from_plain, 0u);
  } else {
    EXPECT_GT(differs_from_plain, cases / 2);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Types, GgmlIdentityWeighted,
    ::testing::Values(BlockCase{QuantType::kQ8_0, "q8_0"}, BlockCase{QuantType::kQ4_0, "q4_0"},
                      BlockCase{QuantType::kQ2_K, "q2_k"}, BlockCase{QuantType::kQ3_K, "q3_k"},
                      BlockCase{QuantType::kQ4_K, "q4_k"}, BlockCase{QuantType::kQ5_K, "q5_k"},
                      BlockCase{QuantType::kQ6_K, "q6_k"}),
    [](const auto& info) { return std::string(info.param.file); });

TEST(GgmlIdentityConversions, F32ToF16AndBF16MatchGgml) {
  const auto in = ReadArray<uint32_t>("ggml_conv_in.u32");
  const auto f16 = ReadArray<uint16_t>("ggml_conv_f16.u16");
  const auto bf16 = ReadArray<uint16_t>("ggml_conv_bf16.u16");
  ASSERT_GT(in.size(), 1000u);
  ASSERT_EQ(in.size(), f16.size());
  ASSERT_EQ(in.size(), bf16.size());
  int f16_mismatches = 0;
  int bf16_mismatches = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    float f;
    std::memcpy(&f, &in[i], 4);
    if (F32ToF16(f) != f16[i] && ++f16_mismatches < 5) {
      ADD_FAILURE() << std::hex << "f16 of 0x" << in[i] << ": 0x" << F32ToF16(f) << " != 0x"
                    << f16[i];
    }
    if (F32ToBF16(f) != bf16[i] && ++bf16_mismatches < 5) {
      ADD_FAILURE() << std::hex << "bf16 of 0x" << in[i] << ": 0x" << F32ToBF16(f) << " != 0x"
                    << bf16[i];
    }
  }
  EXPECT_EQ(f16_mismatches, 0);
  EXPECT_EQ(bf16_mismatches, 0);
}

// ggml's MXFP4 decoder (its own block order: low nibbles are elements 0..15) fixes the E2M1
// values and E8M0 scaling; our decoder reads the GPT-OSS order (low nibble = even element).
// Scale 255 is left out: it is NaN in E8M0, which ggml decodes as 2^128.
TEST(GgmlIdentityConversions, Mxfp4ValuesMatchGgml) {
  const auto expected = ReadArray<uint32_t>("ggml_mxfp4_dequant.f32");
  ASSERT_EQ(expected.size(), 255u * 32u);
  for (int e = 0; e < 255; ++e) {
    // The generator's ggml block: byte j = j | (15 - j) << 4, so ggml element j has code j and
    // element 16 + j has code 15 - j. Build the same codes in GPT-OSS order.
    uint8_t blocks[16];
    for (int j = 0; j < 16; j += 2) {
      blocks[j / 2] = static_cast<uint8_t>(j | (j + 1) << 4);              // elements 0..15
      blocks[8 + j / 2] = static_cast<uint8_t>((15 - j) | (14 - j) << 4);  // elements 16..31
    }
    const uint8_t scale = static_cast<uint8_t>(e);
    float out[32];
    ASSERT_TRUE(DecodeMxfp4(blocks, std::span(&scale, 1), out).ok());
    for (int i = 0; i < 32; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &out[i], 4);
      // Code 8 is -0 in E2M1 (OCP spec, transformers); ggml's integer table makes it +0.
      if (out[i] == 0.0f && (expected[e * 32 + i] & 0x7FFFFFFFu) == 0) continue;
      ASSERT_EQ(bits, expected[e * 32 + i]) << "scale " << e << " element " << i;
    }
  }
}

}  // namespace
}  // namespace moedist
