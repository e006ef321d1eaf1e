// DType: the element types a tensor file can hold, with their safetensors spellings and sizes.
// Sub-byte types (F4, F6_*) are counted in bits; a tensor of them must fill whole bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace moedist {

enum class DType : uint8_t {
  kBool,
  kF4,       // float4 e2m1 (MXFP4 payload), 4 bits
  kF6E2M3,   // 6 bits
  kF6E3M2,   // 6 bits
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kF8E8M0,   // power-of-two scale (MX block scales)
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kC64,      // complex64
  kF64,
  kI64,
  kU64,
};

struct DTypeInfo {
  DType dtype;
  std::string_view safetensors_name;  // the header spelling, e.g. "BF16"
  uint32_t bits;                      // storage bits per element
  bool is_float;
};

// The table that drives parsing, printing and size arithmetic.
const DTypeInfo& GetDTypeInfo(DType dtype);
std::optional<DType> DTypeFromSafetensorsName(std::string_view name);
inline std::string_view DTypeName(DType d) { return GetDTypeInfo(d).safetensors_name; }
inline uint32_t DTypeBits(DType d) { return GetDTypeInfo(d).bits; }

// Bytes taken by `elements` elements of `dtype`, or nullopt if the count overflows 64 bits or
// does not fill whole bytes (sub-byte types).
std::optional<uint64_t> DTypeStorageBytes(DType dtype, uint64_t elements);

}  // namespace moedist
