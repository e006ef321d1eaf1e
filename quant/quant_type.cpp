#include "quant/quant_type.h"

#include <fmt/format.h>

#include <array>
#include <cctype>

#include "core/checked_math.h"

namespace moedist {
namespace {

// Ids are ggml's enum ggml_type values; block geometry is ggml's (QK8_0 = 32, QK_K = 256).
constexpr std::array<QuantTypeInfo, 10> kQuantTypes = {{
    {QuantType::kF32, "f32", 0, 1, 4, "32-bit float, lossless"},
    {QuantType::kF16, "f16", 1, 1, 2, "IEEE half, round-to-nearest-even"},
    {QuantType::kBF16, "bf16", 30, 1, 2, "bfloat16, round-to-nearest-even"},
    {QuantType::kQ8_0, "q8_0", 8, 32, 34, "blocks of 32: f16 scale + 32 int8"},
    {QuantType::kQ4_0, "q4_0", 2, 32, 18, "blocks of 32: f16 scale + 32 4-bit codes"},
    {QuantType::kQ4_K, "q4_k", 12, 256, 144,
     "super-blocks of 256: 8 sub-blocks with 6-bit scales and mins, 4-bit codes"},
    {QuantType::kQ6_K, "q6_k", 14, 256, 210,
     "super-blocks of 256: 16 sub-blocks with int8 scales, 6-bit codes"},
    {QuantType::kQ5_K, "q5_k", 13, 256, 176,
     "super-blocks of 256: 8 sub-blocks with 6-bit scales and mins, 5-bit codes"},
    {QuantType::kQ3_K, "q3_k", 11, 256, 110,
     "super-blocks of 256: 16 sub-blocks with 6-bit scales, 3-bit codes"},
    {QuantType::kQ2_K, "q2_k", 10, 256, 84,
     "super-blocks of 256: 16 sub-blocks with 4-bit scales and mins, 2-bit codes"},
}};
static_assert(
    [] {
      for (size_t i = 0; i < kQuantTypes.size(); ++i) {
        if (static_cast<size_t>(kQuantTypes[i].type) != i) return false;
      }
      return true;
    }(),
    "kQuantTypes rows must be in QuantType order: GetQuantTypeInfo indexes by enumerator");

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

}  // namespace

std::span<const QuantTypeInfo> QuantTypeTable() {
  return kQuantTypes;
}

const QuantTypeInfo& GetQuantTypeInfo(QuantType type) {
  return kQuantTypes[static_cast<size_t>(type)];
}

Result<QuantType> ParseQuantType(std::string_view name) {
  for (const QuantTypeInfo& info : kQuantTypes) {
    if (EqualsIgnoreCase(name, info.name)) return info.type;
  }
  return Status::InvalidArgument("unknown quant type '{}'; expected one of: {}", name,
                                 QuantTypeNameList());
}

std::optional<QuantType> QuantTypeFromGgmlType(uint32_t ggml_type) {
  for (const QuantTypeInfo& info : kQuantTypes) {
    if (info.ggml_type == ggml_type) return info.type;
  }
  return std::nullopt;
}

std::string QuantTypeNameList() {
  std::string out;
  for (const QuantTypeInfo& info : kQuantTypes) {
    if (!out.empty()) out += ", ";
    out += info.name;
  }
  return out;
}

std::string QuantTypeHelp() {
  std::string out;
  for (const QuantTypeInfo& info : kQuantTypes) {
    out += fmt::format("  {:<5} {:>5.2f} bits/weight  {}\n", info.name,
                       QuantBitsPerWeight(info.type), info.summary);
  }
  return out;
}

double QuantBitsPerWeight(QuantType type) {
  const QuantTypeInfo& info = GetQuantTypeInfo(type);
  return 8.0 * info.block_bytes / info.block_elements;
}

Result<uint64_t> QuantRowBytes(QuantType type, uint64_t row_elements) {
  const QuantTypeInfo& info = GetQuantTypeInfo(type);
  if (row_elements % info.block_elements != 0) {
    return Status::InvalidArgument("{}: row length {} is not a multiple of the block size {}",
                                   info.name, row_elements, info.block_elements);
  }
  auto bytes = CheckedMul(row_elements / info.block_elements, info.block_bytes);
  if (!bytes) {
    return Status::InvalidArgument("{}: a row of {} elements overflows 64-bit sizes", info.name,
                                   row_elements);
  }
  return *bytes;
}

Result<uint64_t> QuantTensorBytes(QuantType type, uint64_t rows, uint64_t row_elements) {
  ASSIGN_OR_RETURN(uint64_t row_bytes, QuantRowBytes(type, row_elements));
  auto bytes = CheckedMul(rows, row_bytes);
  if (!bytes) {
    return Status::InvalidArgument("{}: {} rows of {} elements overflow 64-bit sizes",
                                   QuantTypeName(type), rows, row_elements);
  }
  return *bytes;
}

}  // namespace moedist
