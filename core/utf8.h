// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), shared by the
// tokenizer (runtime-min/unicode_utf8.h) and the escaping of messages (core/printable.h).
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace moedist {

// What a lead byte >= 0x80 announces: the sequence length (0: not a lead byte), the range the
// second byte must fall in (the later ones are always 80..BF) and the lead's payload bits.
struct Utf8Lead {
  size_t length = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  char32_t bits = 0;
};

inline Utf8Lead Utf8LeadOf(uint8_t b0) {
  if (b0 >= 0xC2 && b0 <= 0xDF) return {2, 0x80, 0xBF, char32_t(b0 & 0x1F)};
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    return {3, uint8_t(b0 == 0xE0 ? 0xA0 : 0x80), uint8_t(b0 == 0xED ? 0x9F : 0xBF),
            char32_t(b0 & 0x0F)};  // E0: no overlongs; ED: no surrogates
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    return {4, uint8_t(b0 == 0xF0 ? 0x90 : 0x80), uint8_t(b0 == 0xF4 ? 0x8F : 0xBF),
            char32_t(b0 & 0x07)};  // F0: no overlongs; F4: nothing past U+10FFFF
  }
  return {};
}

// Length of the valid UTF-8 sequence at s[i] (1..4), or 0 when the bytes there are not one;
// `*cp` receives the code point.
inline size_t DecodeUtf8At(std::string_view s, size_t i, char32_t* cp) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  const Utf8Lead lead = Utf8LeadOf(b0);
  if (lead.length == 0 || i + lead.length > s.size()) return 0;
  char32_t value = lead.bits;
  for (size_t k = 1; k < lead.length; ++k) {
    const auto b = static_cast<uint8_t>(s[i + k]);
    if (b < (k == 1 ? lead.lo : 0x80) || b > (k == 1 ? lead.hi : 0xBF)) return 0;
    value = (value << 6) | (b & 0x3F);
  }
  *cp = value;
  return lead.length;
}

}  // namespace moedist
