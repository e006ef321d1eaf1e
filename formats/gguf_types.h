// The two type tables of GGUF (docs/formats/gguf.md): ggml tensor types and metadata value types.
//
// GgmlTypeTable() is the one table of every tensor type a GGUF file may hold — its id on disk,
// its spelling, and its block geometry (block_elements values stored in block_bytes bytes) — and
// it drives parsing, printing and size arithmetic. Ids and geometry are ggml's (ggml.h enum
// ggml_type, ggml_blck_size/ggml_type_size); ids ggml has removed (4, 5, 31–33, 36–38) are not in
// the table, so the reader refuses them as unknown.
//
// quant/quant_type.h is the smaller table of encodings moedist *writes*; each of its rows names a
// ggml id that must agree with this table (tests/formats/gguf_types_test.cpp checks it). This
// table is separate because a reader must know every type a file can hold, not only ours.
// Thread safety: immutable data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/status.h"
#include "quant/quant_type.h"

namespace moedist {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;    // gguf-py's GGMLQuantizationType spelling: "Q4_K", "BF16"
  uint32_t block_elements;  // values per block (ggml_blck_size)
  uint32_t block_bytes;     // bytes per block (ggml_type_size)
};

std::span<const GgmlTypeInfo> GgmlTypeTable();
// The row for a raw id read from a file, or nullptr if ggml has no such type (or removed it).
const GgmlTypeInfo* FindGgmlType(uint32_t id);
const GgmlTypeInfo& GetGgmlTypeInfo(GgmlType type);
inline std::string_view GgmlTypeName(GgmlType type) { return GetGgmlTypeInfo(type).name; }
inline uint32_t GgmlTypeId(GgmlType type) { return static_cast<uint32_t>(type); }
// Accepts the table's names in any case ("q4_k" too).
std::optional<GgmlType> GgmlTypeFromName(std::string_view name);
// The ggml type of one of moedist's write encodings (quant/quant_type.h names its ggml id).
GgmlType GgmlTypeFromQuantType(QuantType type);

struct GgmlTensorSize {
  uint64_t elements;
  uint64_t bytes;
};
// Element count and bytes of a tensor of `type` with ggml dims `ne` (ne[0] is the row, fastest
// varying; an empty `ne` is a scalar, one element, as in ggml). Refuses, with `code` and a
// message naming the numbers: an element count above INT64_MAX (ggml counts in int64_t, so this
// also refuses any product that wraps 64 bits), a row that is not a multiple of the block, and a
// byte size that overflows 64 bits. Callers prefix the tensor's name.
Result<GgmlTensorSize> ComputeGgmlTensorSize(GgmlType type, std::span<const uint64_t> ne,
                                             StatusCode code);

// GGUF metadata value types (the spec's gguf_metadata_value_type), stored as uint32 on disk.
enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

struct GgufValueTypeInfo {
  GgufValueType type;
  std::string_view name;  // "UINT32", "STRING", as the spec spells them
  uint32_t fixed_bytes;   // on-disk size of one value; 0 for STRING and ARRAY
  uint32_t min_bytes;     // smallest on-disk size of one value (8 for a string's length, 12 for
                          // an array's element type and count): bounds counts before allocating
};

std::span<const GgufValueTypeInfo> GgufValueTypeTable();
const GgufValueTypeInfo* FindGgufValueType(uint32_t id);
const GgufValueTypeInfo& GetGgufValueTypeInfo(GgufValueType type);
inline std::string_view GgufValueTypeName(GgufValueType type) {
  return GetGgufValueTypeInfo(type).name;
}

}  // namespace moedist
