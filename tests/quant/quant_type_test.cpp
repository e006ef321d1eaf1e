// The quant type table: ids and geometry as ggml defines them, parsing, help text, sizes.
#include "quant/quant_type.h"

#include <gtest/gtest.h>

#include <set>

namespace moedist {
namespace {

struct Expected {
  QuantType type;
  const char* name;
  uint32_t ggml_type, block_elements, block_bytes;
};

// ggml.h's enum ggml_type and ggml.c's type_traits (blck_size, type_size).
constexpr Expected kExpected[] = {
    {QuantType::kF32, "f32", 0, 1, 4},        {QuantType::kF16, "f16", 1, 1, 2},
    {QuantType::kBF16, "bf16", 30, 1, 2},     {QuantType::kQ8_0, "q8_0", 8, 32, 34},
    {QuantType::kQ4_0, "q4_0", 2, 32, 18},    {QuantType::kQ4_K, "q4_k", 12, 256, 144},
    {QuantType::kQ6_K, "q6_k", 14, 256, 210}, {QuantType::kQ5_K, "q5_k", 13, 256, 176},
    {QuantType::kQ3_K, "q3_k", 11, 256, 110}, {QuantType::kQ2_K, "q2_k", 10, 256, 84},
};

TEST(QuantTypeTable, MatchesGgmlIdsAndGeometry) {
  ASSERT_EQ(QuantTypeTable().size(), std::size(kExpected));
  for (const Expected& e : kExpected) {
    const QuantTypeInfo& info = GetQuantTypeInfo(e.type);
    EXPECT_EQ(info.type, e.type);
    EXPECT_EQ(info.name, e.name);
    EXPECT_EQ(info.ggml_type, e.ggml_type) << e.name;
    EXPECT_EQ(info.block_elements, e.block_elements) << e.name;
    EXPECT_EQ(info.block_bytes, e.block_bytes) << e.name;
    EXPECT_FALSE(info.summary.empty());
    EXPECT_EQ(QuantTypeFromGgmlType(e.ggml_type), e.type);
  }
  EXPECT_FALSE(QuantTypeFromGgmlType(3).has_value());  // q4_1: not written by moedist
  EXPECT_DOUBLE_EQ(QuantBitsPerWeight(QuantType::kQ4_K), 4.5);
  EXPECT_DOUBLE_EQ(QuantBitsPerWeight(QuantType::kQ6_K), 6.5625);
  EXPECT_DOUBLE_EQ(QuantBitsPerWeight(QuantType::kQ8_0), 8.5);
  EXPECT_DOUBLE_EQ(QuantBitsPerWeight(QuantType::kQ5_K), 5.5);
  EXPECT_DOUBLE_EQ(QuantBitsPerWeight(QuantType::kQ3_K), 3.4375);
  EXPECT_DOUBLE_EQ(QuantBitsPerWeight(QuantType::kQ2_K), 2.625);
}

TEST(QuantTypeTable, NamesParseBackInAnyCase) {
  std::set<std::string_view> names;
  for (const QuantTypeInfo& info : QuantTypeTable()) {
    EXPECT_TRUE(names.insert(info.name).second) << "duplicate " << info.name;
    auto parsed = ParseQuantType(info.name);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, info.type);
  }
  EXPECT_EQ(*ParseQuantType("Q4_K"), QuantType::kQ4_K);
  EXPECT_EQ(*ParseQuantType("BF16"), QuantType::kBF16);
}

TEST(QuantTypeTable, UnknownNameListsTheValidOnes) {
  for (const char* bad : {"q4_k_m", "", "q4k", "int4", "q4_k "}) {
    auto parsed = ParseQuantType(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("q8_0, q4_0, q4_k, q6_k, q5_k, q3_k, q2_k"),
              std::string::npos)
        << parsed.status().message();
  }
}

TEST(QuantTypeTable, HelpMentionsEveryType) {
  const std::string help = QuantTypeHelp();
  for (const QuantTypeInfo& info : QuantTypeTable()) {
    EXPECT_NE(help.find(info.name), std::string::npos) << info.name;
  }
  EXPECT_NE(help.find("4.50 bits/weight"), std::string::npos) << help;
  EXPECT_EQ(QuantTypeNameList(), "f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, q5_k, q3_k, q2_k");
}

TEST(QuantTypeSizes, RowAndTensorBytes) {
  EXPECT_EQ(*QuantRowBytes(QuantType::kQ4_K, 4096), 16u * 144u);
  EXPECT_EQ(*QuantRowBytes(QuantType::kQ6_K, 256), 210u);
  EXPECT_EQ(*QuantRowBytes(QuantType::kQ2_K, 512), 168u);
  EXPECT_EQ(*QuantRowBytes(QuantType::kQ8_0, 64), 68u);
  EXPECT_EQ(*QuantRowBytes(QuantType::kBF16, 3), 6u);
  EXPECT_EQ(*QuantRowBytes(QuantType::kQ4_0, 0), 0u);
  EXPECT_EQ(*QuantTensorBytes(QuantType::kQ8_0, 10, 32), 340u);
}

TEST(QuantTypeSizes, RowLengthNotAMultipleOfTheBlockIsRefusedNamingBoth) {
  auto r = QuantRowBytes(QuantType::kQ4_K, 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("q4_k"), std::string::npos);
  EXPECT_NE(r.status().message().find("100"), std::string::npos);
  EXPECT_NE(r.status().message().find("256"), std::string::npos);
  EXPECT_FALSE(QuantRowBytes(QuantType::kQ8_0, 33).ok());
  EXPECT_FALSE(QuantTensorBytes(QuantType::kQ6_K, 2, 255).ok());
}

TEST(QuantTypeSizes, OverflowIsRefused) {
  EXPECT_FALSE(QuantRowBytes(QuantType::kF32, uint64_t{1} << 63).ok());
  EXPECT_FALSE(QuantTensorBytes(QuantType::kQ8_0, uint64_t{1} << 60, 1024).ok());
}

}  // namespace
}  // namespace moedist
