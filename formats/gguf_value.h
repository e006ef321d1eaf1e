// GgufValue, GgufArray, GgufKv: GGUF metadata values in memory, shared by the reader (which
// fills them) and the writer (which serialises them), so "read back equal" is operator==.
//
// Values own their data (metadata is small next to tensors: a 150k-token vocabulary is a few
// MB). Arrays of fixed-size elements keep their little-endian bytes in one buffer, so a hostile
// array of a billion UINT8 costs a billion bytes, not a billion objects; arrays of strings keep
// one std::string per element and nested arrays one GgufArray per element (each element is at
// least 8 or 12 bytes on disk, which bounds the blow-up). Floats compare by bit pattern, so NaN
// payloads and -0.0 survive a round trip and compare equal to themselves.
// Thread safety: values, no shared state.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "formats/gguf_types.h"

namespace moedist {

// The GGUF value type of a C++ scalar type (uint8_t … double, bool).
template <typename T>
struct GgufTypeOf;
template <> struct GgufTypeOf<uint8_t> { static constexpr GgufValueType value = GgufValueType::kUint8; };
template <> struct GgufTypeOf<int8_t> { static constexpr GgufValueType value = GgufValueType::kInt8; };
template <> struct GgufTypeOf<uint16_t> { static constexpr GgufValueType value = GgufValueType::kUint16; };
template <> struct GgufTypeOf<int16_t> { static constexpr GgufValueType value = GgufValueType::kInt16; };
template <> struct GgufTypeOf<uint32_t> { static constexpr GgufValueType value = GgufValueType::kUint32; };
template <> struct GgufTypeOf<int32_t> { static constexpr GgufValueType value = GgufValueType::kInt32; };
template <> struct GgufTypeOf<float> { static constexpr GgufValueType value = GgufValueType::kFloat32; };
template <> struct GgufTypeOf<bool> { static constexpr GgufValueType value = GgufValueType::kBool; };
template <> struct GgufTypeOf<uint64_t> { static constexpr GgufValueType value = GgufValueType::kUint64; };
template <> struct GgufTypeOf<int64_t> { static constexpr GgufValueType value = GgufValueType::kInt64; };
template <> struct GgufTypeOf<double> { static constexpr GgufValueType value = GgufValueType::kFloat64; };

namespace gguf_internal {
// GGUF is little-endian and so are the hosts moedist supports; values keep their on-disk bytes.
static_assert(std::endian::native == std::endian::little, "moedist assumes a little-endian host");
// A scalar's bytes as the zero-extended little-endian integer they spell, and back.
template <typename T>
uint64_t ToBits(T v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? 1 : 0;
  } else {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    return bits;
  }
}
template <typename T>
T FromBits(uint64_t bits) {
  if constexpr (std::is_same_v<T, bool>) {
    return bits != 0;
  } else {
    T v;
    std::memcpy(&v, &bits, sizeof(T));
    return v;
  }
}
uint64_t LoadLe(const uint8_t* p, size_t n);
void AppendLe(std::vector<uint8_t>& out, uint64_t v, size_t n);
}  // namespace gguf_internal

class GgufArray {
 public:
  GgufArray() = default;  // an empty UINT8 array
  template <typename T>
  static GgufArray Of(std::span<const T> values) {
    GgufArray a;
    a.element_type_ = GgufTypeOf<T>::value;
    a.size_ = values.size();
    for (const T& v : values) gguf_internal::AppendLe(a.raw_, gguf_internal::ToBits(v), sizeof(T));
    return a;
  }
  template <typename T>
  static GgufArray Of(std::initializer_list<T> values) {
    return Of(std::span<const T>(values.begin(), values.size()));
  }
  static GgufArray Strings(std::vector<std::string> values);
  // Nested arrays (spec-valid; stock ggml refuses them, see GgufWriteOptions).
  static GgufArray Arrays(std::vector<GgufArray> values);
  // Fixed-size elements from their little-endian bytes (the reader's constructor). `raw` must
  // hold a whole number of elements of `element_type`, which must have a fixed size.
  static GgufArray FromLittleEndian(GgufValueType element_type, std::vector<uint8_t> raw);

  GgufValueType element_type() const { return element_type_; }
  uint64_t size() const { return size_; }
  // Element i as T, or nullopt if T is not the element type or i is out of range.
  template <typename T>
  std::optional<T> Get(uint64_t i) const {
    if (GgufTypeOf<T>::value != element_type_ || i >= size_) return std::nullopt;
    return gguf_internal::FromBits<T>(gguf_internal::LoadLe(raw_.data() + i * sizeof(T), sizeof(T)));
  }
  // All elements as T, or nullopt if T is not the element type.
  template <typename T>
  std::optional<std::vector<T>> ToVector() const {
    if (GgufTypeOf<T>::value != element_type_) return std::nullopt;
    std::vector<T> out;
    out.reserve(size_);
    for (uint64_t i = 0; i < size_; ++i) out.push_back(*Get<T>(i));
    return out;
  }
  const std::vector<std::string>& strings() const { return strings_; }  // STRING elements
  const std::vector<GgufArray>& arrays() const { return arrays_; }       // ARRAY elements
  std::span<const uint8_t> little_endian_bytes() const { return raw_; }  // fixed-size elements
  // Deepest nesting: 1 for an array of scalars or strings, 2 for an array of those, …
  uint32_t depth() const;

  friend bool operator==(const GgufArray& a, const GgufArray& b);

 private:
  GgufValueType element_type_ = GgufValueType::kUint8;
  uint64_t size_ = 0;
  std::vector<uint8_t> raw_;
  std::vector<std::string> strings_;
  std::vector<GgufArray> arrays_;
};

class GgufValue {
 public:
  GgufValue() = default;  // UINT8 0
  template <typename T>
  static GgufValue Of(T v) {
    GgufValue out;
    out.type_ = GgufTypeOf<T>::value;
    out.bits_ = gguf_internal::ToBits(v);
    return out;
  }
  static GgufValue U8(uint8_t v) { return Of(v); }
  static GgufValue I8(int8_t v) { return Of(v); }
  static GgufValue U16(uint16_t v) { return Of(v); }
  static GgufValue I16(int16_t v) { return Of(v); }
  static GgufValue U32(uint32_t v) { return Of(v); }
  static GgufValue I32(int32_t v) { return Of(v); }
  static GgufValue F32(float v) { return Of(v); }
  static GgufValue Bool(bool v) { return Of(v); }
  static GgufValue U64(uint64_t v) { return Of(v); }
  static GgufValue I64(int64_t v) { return Of(v); }
  static GgufValue F64(double v) { return Of(v); }
  static GgufValue String(std::string v);
  static GgufValue Array(GgufArray v);
  // A fixed-size scalar from its bits (the reader's constructor).
  static GgufValue FromBits(GgufValueType type, uint64_t bits);

  GgufValueType type() const { return type_; }
  // The scalar as T, or nullopt if T is not exactly this value's type.
  template <typename T>
  std::optional<T> Get() const {
    if (GgufTypeOf<T>::value != type_) return std::nullopt;
    return gguf_internal::FromBits<T>(bits_);
  }
  uint64_t bits() const { return bits_; }  // fixed-size scalars: the little-endian value
  const std::string* string() const { return type_ == GgufValueType::kString ? &string_ : nullptr; }
  const GgufArray* array() const { return type_ == GgufValueType::kArray ? &array_ : nullptr; }

  friend bool operator==(const GgufValue& a, const GgufValue& b);

 private:
  GgufValueType type_ = GgufValueType::kUint8;
  uint64_t bits_ = 0;
  std::string string_;
  GgufArray array_;
};

struct GgufKv {
  std::string key;
  GgufValue value;
  friend bool operator==(const GgufKv& a, const GgufKv& b) = default;
};

// Short human-readable rendering ("UINT32 5", "ARRAY[STRING] of 3: \"a\", \"b\", …"), for
// messages and `inspect`. At most `max_elements` array elements are shown.
std::string GgufValueToString(const GgufValue& value, size_t max_elements = 8);

// Strict UTF-8: no overlong forms, surrogates, or code points above U+10FFFF.
bool IsValidUtf8(std::string_view s);

}  // namespace moedist
