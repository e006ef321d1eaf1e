// A tokenizer.json pattern, {"String": "..."} (a literal) or {"Regex": "..."}, as the Split
// pre-tokenizer and the Replace normalizer and decoder use it. Matches are found left to right
// without overlap; empty regex matches are skipped (Hugging Face drops empty splits too).
// Thread safety: immutable after FromJson().
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "runtime-min/tokenizer_json.h"
#include "runtime-min/tokenizer_regex.h"

namespace moedist {

class TokenizerPattern {
 public:
  static Result<TokenizerPattern> FromJson(const nlohmann::json& pattern, const JsonPath& at);

  // Appends the [begin, end) code point ranges of all non-empty matches in `text`.
  void FindAll(std::span<const char32_t> text, std::vector<std::pair<size_t, size_t>>* out) const;

  // `text` (valid UTF-8) with every match replaced by `content`.
  std::string ReplaceAll(std::string_view text, std::string_view content) const;

 private:
  std::optional<TokenizerRegex> regex_;
  std::string literal_;          // when regex_ is empty
  std::u32string literal_code_;  // literal_ as code points
};

// Decodes valid UTF-8 into code points; `offsets` (if given) receives each code point's byte
// offset plus a final entry for the end.
void DecodeToCodePoints(std::string_view text, std::vector<char32_t>* cps,
                        std::vector<uint32_t>* offsets);

}  // namespace moedist
