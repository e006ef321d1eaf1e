// UTF-8 decoding and encoding for the tokenizer. Decoding is strict (no overlongs, surrogates or
// code points past U+10FFFF); the lossy form replaces each maximal invalid subpart with U+FFFD,
// as Rust's String::from_utf8_lossy and the WHATWG decoder do, so decoded token bytes come out
// the way Hugging Face's decoders print them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/utf8.h"

namespace moedist::unicode {

// The strict decoder lives in core (core/utf8.h), shared with message escaping.
using ::moedist::DecodeUtf8At;

inline void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Byte offset of the first invalid sequence, or npos when `s` is valid UTF-8.
size_t FindInvalidUtf8(std::string_view s);

// `bytes` with every maximal invalid subpart replaced by U+FFFD.
std::string Utf8Lossy(std::string_view bytes);

}  // namespace moedist::unicode
