// Unicode Normalization Form C (UAX #15), for tokenizers whose normalizer is "NFC" (Qwen3).
// Canonical decomposition, canonical ordering, then canonical composition, with Hangul handled
// algorithmically; tables from unicode_data.cpp. Text already in NFC (the usual case) is found
// by the quick-check and copied without decomposing. Thread safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace moedist::unicode {

// `text` must be valid UTF-8.
std::string ToNfc(std::string_view text);

}  // namespace moedist::unicode
