// Normalizer: tokenizer.json's "normalizer", applied to each stretch of text between added
// tokens. Supported: NFC, Prepend (only to non-empty text, as Hugging Face does), Replace
// (String or Regex pattern), Strip (White_Space at either end) and Sequence of these. NFD, NFKC,
// NFKD, Lowercase, BertNormalizer, Precompiled, ... are refused with an Unsupported error naming
// the type rather than encoded wrongly.
// Thread safety: immutable after FromJson().
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "runtime-min/tokenizer_json.h"
#include "runtime-min/tokenizer_pattern.h"

namespace moedist {

class Normalizer {
 public:
  // `config` may be null: no normalization.
  static Result<Normalizer> FromJson(const nlohmann::json& config, const JsonPath& at);

  // `text` must be valid UTF-8; so is the result.
  std::string Apply(std::string_view text) const;

 private:
  struct Step {
    enum class Kind { kNfc, kPrepend, kReplace, kStrip } kind;
    std::string text;  // kPrepend: the prefix; kReplace: the replacement
    std::optional<TokenizerPattern> pattern;
    bool strip_left = false, strip_right = false;
  };
  static Status AddStep(const nlohmann::json& config, const JsonPath& at, Normalizer* out);

  std::vector<Step> steps_;
};

}  // namespace moedist
