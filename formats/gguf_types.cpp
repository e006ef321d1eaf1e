#include "formats/gguf_types.h"

#include <array>
#include <cctype>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/checked_math.h"

namespace moedist {
namespace {

// ggml's type_traits: blck_size and type_size per id (checked against libggml-base by
// tests/formats/gguf_ggml_check.c and against quant/quant_type.h by gguf_types_test.cpp).
constexpr std::array<GgmlTypeInfo, 32> kGgmlTypes = {{
    {GgmlType::kF32, "F32", 1, 4},
    {GgmlType::kF16, "F16", 1, 2},
    {GgmlType::kQ4_0, "Q4_0", 32, 18},
    {GgmlType::kQ4_1, "Q4_1", 32, 20},
    {GgmlType::kQ5_0, "Q5_0", 32, 22},
    {GgmlType::kQ5_1, "Q5_1", 32, 24},
    {GgmlType::kQ8_0, "Q8_0", 32, 34},
    {GgmlType::kQ8_1, "Q8_1", 32, 36},
    {GgmlType::kQ2_K, "Q2_K", 256, 84},
    {GgmlType::kQ3_K, "Q3_K", 256, 110},
    {GgmlType::kQ4_K, "Q4_K", 256, 144},
    {GgmlType::kQ5_K, "Q5_K", 256, 176},
    {GgmlType::kQ6_K, "Q6_K", 256, 210},
    {GgmlType::kQ8_K, "Q8_K", 256, 292},
    {GgmlType::kIQ2_XXS, "IQ2_XXS", 256, 66},
    {GgmlType::kIQ2_XS, "IQ2_XS", 256, 74},
    {GgmlType::kIQ3_XXS, "IQ3_XXS", 256, 98},
    {GgmlType::kIQ1_S, "IQ1_S", 256, 50},
    {GgmlType::kIQ4_NL, "IQ4_NL", 32, 18},
    {GgmlType::kIQ3_S, "IQ3_S", 256, 110},
    {GgmlType::kIQ2_S, "IQ2_S", 256, 82},
    {GgmlType::kIQ4_XS, "IQ4_XS", 256, 136},
    {GgmlType::kI8, "I8", 1, 1},
    {GgmlType::kI16, "I16", 1, 2},
    {GgmlType::kI32, "I32", 1, 4},
    {GgmlType::kI64, "I64", 1, 8},
    {GgmlType::kF64, "F64", 1, 8},
    {GgmlType::kIQ1_M, "IQ1_M", 256, 56},
    {GgmlType::kBF16, "BF16", 1, 2},
    {GgmlType::kTQ1_0, "TQ1_0", 256, 54},
    {GgmlType::kTQ2_0, "TQ2_0", 256, 66},
    {GgmlType::kMXFP4, "MXFP4", 32, 17},
}};

constexpr std::array<GgufValueTypeInfo, 13> kGgufValueTypes = {{
    {GgufValueType::kUint8, "UINT8", 1, 1},
    {GgufValueType::kInt8, "INT8", 1, 1},
    {GgufValueType::kUint16, "UINT16", 2, 2},
    {GgufValueType::kInt16, "INT16", 2, 2},
    {GgufValueType::kUint32, "UINT32", 4, 4},
    {GgufValueType::kInt32, "INT32", 4, 4},
    {GgufValueType::kFloat32, "FLOAT32", 4, 4},
    {GgufValueType::kBool, "BOOL", 1, 1},
    {GgufValueType::kString, "STRING", 0, 8},
    {GgufValueType::kArray, "ARRAY", 0, 12},
    {GgufValueType::kUint64, "UINT64", 8, 8},
    {GgufValueType::kInt64, "INT64", 8, 8},
    {GgufValueType::kFloat64, "FLOAT64", 8, 8},
}};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::span<const GgmlTypeInfo> GgmlTypeTable() { return kGgmlTypes; }

const GgmlTypeInfo* FindGgmlType(uint32_t id) {
  for (const GgmlTypeInfo& info : kGgmlTypes) {
    if (GgmlTypeId(info.type) == id) return &info;
  }
  return nullptr;
}

const GgmlTypeInfo& GetGgmlTypeInfo(GgmlType type) {
  const GgmlTypeInfo* info = FindGgmlType(GgmlTypeId(type));
  assert(info != nullptr && "GgmlType value outside the table");
  return info != nullptr ? *info : kGgmlTypes[0];
}

std::optional<GgmlType> GgmlTypeFromName(std::string_view name) {
  for (const GgmlTypeInfo& info : kGgmlTypes) {
    if (EqualsIgnoreCase(name, info.name)) return info.type;
  }
  return std::nullopt;
}

GgmlType GgmlTypeFromQuantType(QuantType type) {
  return static_cast<GgmlType>(GetQuantTypeInfo(type).ggml_type);
}

Result<GgmlTensorSize> ComputeGgmlTensorSize(GgmlType type, std::span<const uint64_t> ne,
                                             StatusCode code) {
  const GgmlTypeInfo& info = GetGgmlTypeInfo(type);
  auto elements = CheckedProduct(ne);
  if (!elements || *elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Status(code, fmt::format("element count of ne [{}] overflows int64 (ggml counts "
                                    "elements in int64_t)",
                                    fmt::join(ne, ", ")));
  }
  const uint64_t row = ne.empty() ? 1 : ne[0];
  if (row % info.block_elements != 0) {
    return Status(code, fmt::format("row of {} elements (ne[0]) is not a multiple of the {} "
                                    "block size {}",
                                    row, info.name, info.block_elements));
  }
  auto bytes = CheckedMul(*elements / info.block_elements, info.block_bytes);
  if (!bytes) {
    return Status(code, fmt::format("{} elements of {} take more than 2^64 bytes (byte size "
                                    "overflows 64 bits)",
                                    *elements, info.name));
  }
  return GgmlTensorSize{*elements, *bytes};
}

std::span<const GgufValueTypeInfo> GgufValueTypeTable() { return kGgufValueTypes; }

const GgufValueTypeInfo* FindGgufValueType(uint32_t id) {
  return id < kGgufValueTypes.size() ? &kGgufValueTypes[id] : nullptr;
}

const GgufValueTypeInfo& GetGgufValueTypeInfo(GgufValueType type) {
  return kGgufValueTypes[static_cast<size_t>(type)];
}

}  // namespace moedist
