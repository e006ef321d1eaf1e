// PreTokenizer: tokenizer.json's "pre_tokenizer", which cuts normalized text into words before
// the model sees them. Supported: Split (String or Regex pattern; behaviors Isolated, Removed,
// MergedWithPrevious, MergedWithNext, Contiguous; invert), Digits, ByteLevel (add_prefix_space,
// use_regex with the GPT-2 pattern) and Sequence of these. ByteLevel must come last: it only
// marks the words for byte-to-unicode mapping, which the BPE model does as it reads the bytes.
// Other types (Metaspace, Whitespace, BertPreTokenizer, Punctuation, ...) are refused with an
// Unsupported error naming the type.
// Thread safety: immutable after FromJson(); Split() may run from any thread with its own
// scratch.
#pragma once

#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "runtime-min/tokenizer_json.h"
#include "runtime-min/tokenizer_pattern.h"

namespace moedist {

// Buffers one Split() call reuses; words may point into `owned`.
struct PreTokenizeScratch {
  std::vector<char32_t> code_points;
  std::vector<uint32_t> offsets;
  std::vector<std::pair<size_t, size_t>> pieces, next_pieces, matches;
  std::vector<std::pair<std::pair<size_t, size_t>, bool>> marked, merged;
  std::deque<std::string> owned;
};

class PreTokenizer {
 public:
  // `config` may be null: the whole text is one word.
  static Result<PreTokenizer> FromJson(const nlohmann::json& config, const JsonPath& at);

  // Appends the words of `text` (valid UTF-8, non-empty) to `words`. Words are views into
  // `text` or into scratch->owned, valid until the scratch is reused.
  void Split(std::string_view text, PreTokenizeScratch* scratch,
             std::vector<std::string_view>* words) const;

  // True when words must go through the GPT-2 byte-to-unicode table before the model.
  bool byte_level() const { return byte_level_; }

  enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
  struct Step {
    enum class Kind { kSplit, kDigits } kind = Kind::kSplit;
    std::optional<TokenizerPattern> pattern;  // kSplit
    Behavior behavior = Behavior::kIsolated;  // kSplit
    bool invert = false;                      // kSplit
    bool individual_digits = false;           // kDigits
  };

 private:
  static Status AddStep(const nlohmann::json& config, const JsonPath& at, bool last,
                        PreTokenizer* out);
  void ApplyStep(const Step& step, PreTokenizeScratch* s) const;
  void EmitWords(std::string_view text, PreTokenizeScratch* s,
                 std::vector<std::string_view>* words) const;

  std::vector<Step> steps_;
  bool byte_level_ = false;
  bool add_prefix_space_ = false;  // ByteLevel
  bool use_gpt2_regex_ = false;    // ByteLevel use_regex
  std::optional<TokenizerPattern> gpt2_regex_pattern_;
};

}  // namespace moedist
