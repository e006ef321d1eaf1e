#include "formats/gguf_value.h"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

namespace moedist {
namespace gguf_internal {

uint64_t LoadLe(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

void AppendLe(std::vector<uint8_t>& out, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace gguf_internal

GgufArray GgufArray::Strings(std::vector<std::string> values) {
  GgufArray a;
  a.element_type_ = GgufValueType::kString;
  a.size_ = values.size();
  a.strings_ = std::move(values);
  return a;
}

GgufArray GgufArray::Arrays(std::vector<GgufArray> values) {
  GgufArray a;
  a.element_type_ = GgufValueType::kArray;
  a.size_ = values.size();
  a.arrays_ = std::move(values);
  return a;
}

GgufArray GgufArray::FromLittleEndian(GgufValueType element_type, std::vector<uint8_t> raw) {
  const uint32_t width = GetGgufValueTypeInfo(element_type).fixed_bytes;
  assert(width != 0 && raw.size() % width == 0);
  GgufArray a;
  a.element_type_ = element_type;
  a.size_ = width == 0 ? 0 : raw.size() / width;
  a.raw_ = std::move(raw);
  return a;
}

uint32_t GgufArray::depth() const {
  uint32_t deepest = 0;
  for (const GgufArray& inner : arrays_) deepest = std::max(deepest, inner.depth());
  return 1 + deepest;
}

bool operator==(const GgufArray& a, const GgufArray& b) {
  return a.element_type_ == b.element_type_ && a.size_ == b.size_ && a.raw_ == b.raw_ &&
         a.strings_ == b.strings_ && a.arrays_ == b.arrays_;
}

GgufValue GgufValue::String(std::string v) {
  GgufValue out;
  out.type_ = GgufValueType::kString;
  out.string_ = std::move(v);
  return out;
}

GgufValue GgufValue::Array(GgufArray v) {
  GgufValue out;
  out.type_ = GgufValueType::kArray;
  out.array_ = std::move(v);
  return out;
}

GgufValue GgufValue::FromBits(GgufValueType type, uint64_t bits) {
  assert(GetGgufValueTypeInfo(type).fixed_bytes != 0);
  GgufValue out;
  out.type_ = type;
  out.bits_ = bits;
  return out;
}

bool operator==(const GgufValue& a, const GgufValue& b) {
  return a.type_ == b.type_ && a.bits_ == b.bits_ && a.string_ == b.string_ &&
         a.array_ == b.array_;
}

namespace {

std::string ScalarToString(GgufValueType type, uint64_t bits) {
  using gguf_internal::FromBits;
  switch (type) {
    case GgufValueType::kUint8: return fmt::format("{}", FromBits<uint8_t>(bits));
    case GgufValueType::kInt8: return fmt::format("{}", FromBits<int8_t>(bits));
    case GgufValueType::kUint16: return fmt::format("{}", FromBits<uint16_t>(bits));
    case GgufValueType::kInt16: return fmt::format("{}", FromBits<int16_t>(bits));
    case GgufValueType::kUint32: return fmt::format("{}", FromBits<uint32_t>(bits));
    case GgufValueType::kInt32: return fmt::format("{}", FromBits<int32_t>(bits));
    case GgufValueType::kFloat32: return fmt::format("{}", FromBits<float>(bits));
    case GgufValueType::kBool: return bits != 0 ? "true" : "false";
    case GgufValueType::kUint64: return fmt::format("{}", FromBits<uint64_t>(bits));
    case GgufValueType::kInt64: return fmt::format("{}", FromBits<int64_t>(bits));
    case GgufValueType::kFloat64: return fmt::format("{}", FromBits<double>(bits));
    case GgufValueType::kString:
    case GgufValueType::kArray: break;
  }
  return "?";
}

std::string ArrayToString(const GgufArray& a, size_t max_elements) {
  std::string out = fmt::format("ARRAY[{}] of {}", GgufValueTypeName(a.element_type()), a.size());
  const size_t shown = static_cast<size_t>(std::min<uint64_t>(a.size(), max_elements));
  const uint32_t width = GetGgufValueTypeInfo(a.element_type()).fixed_bytes;
  for (size_t i = 0; i < shown; ++i) {
    out += i == 0 ? ": " : ", ";
    if (a.element_type() == GgufValueType::kString) {
      out += fmt::format("\"{}\"", a.strings()[i]);
    } else if (a.element_type() == GgufValueType::kArray) {
      out += "(" + ArrayToString(a.arrays()[i], max_elements) + ")";
    } else {
      auto bits = gguf_internal::LoadLe(a.little_endian_bytes().data() + i * width, width);
      out += ScalarToString(a.element_type(), bits);
    }
  }
  if (shown < a.size()) out += ", …";
  return out;
}

}  // namespace

std::string GgufValueToString(const GgufValue& value, size_t max_elements) {
  if (const std::string* s = value.string()) return fmt::format("STRING \"{}\"", *s);
  if (const GgufArray* a = value.array()) return ArrayToString(*a, max_elements);
  return fmt::format("{} {}", GgufValueTypeName(value.type()),
                     ScalarToString(value.type(), value.bits()));
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace moedist
