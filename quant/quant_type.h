// QuantType: the tensor encodings moedist writes into bundles, and the one table that describes
// them. Parsing of recipe/CLI spellings, --help text, GGUF type ids and size arithmetic all read
// this table (style.md item 5), so adding a type is one row plus its kernels.
//
// Every type is a sequence of fixed-size blocks: block_elements values stored in block_bytes
// bytes (F32/F16/BF16 are blocks of one element). A row's length must be a multiple of the
// block. Thread safety: immutable data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace moedist {

// Enumerators index the table in quant_type.cpp: add new ones at the end, in table order.
enum class QuantType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kQ8_0,
  kQ4_0,
  kQ4_K,
  kQ6_K,
  kQ5_K,
  kQ3_K,
  kQ2_K
};

struct QuantTypeInfo {
  QuantType type;
  std::string_view name;     // recipe and CLI spelling, lower case: "q4_k"
  uint32_t ggml_type;        // ggml_type / GGUF tensor type id
  uint32_t block_elements;   // values per block
  uint32_t block_bytes;      // bytes per block
  std::string_view summary;  // one line for --help
};

std::span<const QuantTypeInfo> QuantTypeTable();
const QuantTypeInfo& GetQuantTypeInfo(QuantType type);
inline std::string_view QuantTypeName(QuantType type) {
  return GetQuantTypeInfo(type).name;
}

// Accepts the table's names in any case ("Q4_K" too). Unknown names are InvalidArgument listing
// the valid ones.
Result<QuantType> ParseQuantType(std::string_view name);
std::optional<QuantType> QuantTypeFromGgmlType(uint32_t ggml_type);

// "f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, q5_k, q3_k, q2_k": for error messages and flag
// descriptions.
std::string QuantTypeNameList();
// One line per type: name, bits per weight, summary; for --help.
std::string QuantTypeHelp();

// Bits of storage per value (8.5 for q8_0, 4.5 for q4_k).
double QuantBitsPerWeight(QuantType type);

// Bytes of one row of `row_elements` values. InvalidArgument if the length is not a multiple of
// the block (naming both) or the size overflows 64 bits.
Result<uint64_t> QuantRowBytes(QuantType type, uint64_t row_elements);
// Bytes of a [rows, row_elements] tensor, with the same checks.
Result<uint64_t> QuantTensorBytes(QuantType type, uint64_t rows, uint64_t row_elements);

}  // namespace moedist
