// The ggml type table and the GGUF value type table.
#include "formats/gguf_types.h"

#include <gtest/gtest.h>

#include <set>

#include "formats/gguf_value.h"
#include "quant/quant_type.h"

namespace moedist {
namespace {

TEST(GgmlTypes, IdsAreUniqueAndRemovedIdsAreUnknown) {
  std::set<uint32_t> ids;
  for (const GgmlTypeInfo& info : GgmlTypeTable()) {
    EXPECT_TRUE(ids.insert(GgmlTypeId(info.type)).second) << info.name;
    EXPECT_EQ(FindGgmlType(GgmlTypeId(info.type)), &info);
    EXPECT_EQ(GgmlTypeFromName(info.name), info.type);
    EXPECT_GT(info.block_elements, 0u);
    EXPECT_GT(info.block_bytes, 0u);
  }
  EXPECT_EQ(ids.size(), 32u);
  for (uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 40u, 0xFFFFFFFFu}) {
    EXPECT_EQ(FindGgmlType(removed), nullptr) << removed;
  }
  EXPECT_EQ(GgmlTypeFromName("q4_k"), GgmlType::kQ4_K);
  EXPECT_FALSE(GgmlTypeFromName("Q4_2").has_value());
}

// Spot values from ggml's type_traits (also checked in full against libggml-base by
// tests/formats/gguf_ggml_check.c when that library is available).
TEST(GgmlTypes, BlockGeometryMatchesGgml) {
  struct Row {
    GgmlType type;
    uint32_t block, bytes;
  };
  for (Row r : {Row{GgmlType::kF32, 1, 4}, Row{GgmlType::kQ4_0, 32, 18},
                Row{GgmlType::kQ8_0, 32, 34}, Row{GgmlType::kQ2_K, 256, 84},
                Row{GgmlType::kQ4_K, 256, 144}, Row{GgmlType::kQ6_K, 256, 210},
                Row{GgmlType::kQ8_K, 256, 292}, Row{GgmlType::kBF16, 1, 2},
                Row{GgmlType::kMXFP4, 32, 17}, Row{GgmlType::kTQ1_0, 256, 54}}) {
    EXPECT_EQ(GetGgmlTypeInfo(r.type).block_elements, r.block) << GgmlTypeName(r.type);
    EXPECT_EQ(GetGgmlTypeInfo(r.type).block_bytes, r.bytes) << GgmlTypeName(r.type);
  }
}

// quant/quant_type.h names a ggml id per write encoding; its geometry must agree with ours.
TEST(GgmlTypes, AgreesWithTheQuantTypeTable) {
  for (const QuantTypeInfo& q : QuantTypeTable()) {
    const GgmlTypeInfo* g = FindGgmlType(q.ggml_type);
    ASSERT_NE(g, nullptr) << q.name;
    EXPECT_EQ(g->block_elements, q.block_elements) << q.name;
    EXPECT_EQ(g->block_bytes, q.block_bytes) << q.name;
    EXPECT_EQ(GgmlTypeFromQuantType(q.type), g->type);
    EXPECT_EQ(GgmlTypeFromName(q.name), g->type) << q.name;
  }
}

TEST(GgmlTypes, TensorSizeArithmetic) {
  const uint64_t q4k[] = {512, 3};
  auto s = ComputeGgmlTensorSize(GgmlType::kQ4_K, q4k, StatusCode::kCorruption);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->elements, 1536u);
  EXPECT_EQ(s->bytes, 2u * 3 * 144);
  auto scalar = ComputeGgmlTensorSize(GgmlType::kF32, {}, StatusCode::kCorruption);
  EXPECT_EQ(scalar->bytes, 4u);
  const uint64_t zero[] = {32, 0};
  EXPECT_EQ(ComputeGgmlTensorSize(GgmlType::kQ8_0, zero, StatusCode::kCorruption)->bytes, 0u);
  const uint64_t row[] = {100};
  auto bad = ComputeGgmlTensorSize(GgmlType::kQ8_0, row, StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  const uint64_t wraps[] = {1ull << 62};  // 2^62 F32 elements = 2^64 bytes
  EXPECT_FALSE(ComputeGgmlTensorSize(GgmlType::kF32, wraps, StatusCode::kCorruption).ok());
  const uint64_t max_int64[] = {(1ull << 63) - 1};
  EXPECT_TRUE(ComputeGgmlTensorSize(GgmlType::kI8, max_int64, StatusCode::kCorruption).ok());
  const uint64_t above[] = {1ull << 63};
  EXPECT_FALSE(ComputeGgmlTensorSize(GgmlType::kI8, above, StatusCode::kCorruption).ok());
}

TEST(GgufValueTypes, TableIsIndexedById) {
  ASSERT_EQ(GgufValueTypeTable().size(), 13u);
  for (uint32_t id = 0; id < 13; ++id) {
    ASSERT_NE(FindGgufValueType(id), nullptr);
    EXPECT_EQ(static_cast<uint32_t>(FindGgufValueType(id)->type), id);
  }
  EXPECT_EQ(FindGgufValueType(13), nullptr);
  EXPECT_EQ(GgufValueTypeName(GgufValueType::kFloat64), "FLOAT64");
  EXPECT_EQ(GetGgufValueTypeInfo(GgufValueType::kBool).fixed_bytes, 1u);
}

TEST(GgufValue, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x96\x81\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x96"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));              // stray continuation
}

}  // namespace
}  // namespace moedist
