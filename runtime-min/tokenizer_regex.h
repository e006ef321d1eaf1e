// TokenizerRegex: a small backtracking regex engine for the patterns tokenizer.json files give
// their Split pre-tokenizers (GPT-2, GPT-4/Qwen, Llama-3, DeepSeek-V3 styles). Hugging Face runs
// these through Oniguruma (Rust) or a rewritten JS RegExp (tokenizers.js); both backtrack and
// take the first alternative that matches, and this engine does the same.
//
// Supported: literals and escapes (\r \n \t \f \v \xHH \x{...} \uHHHH, escaped punctuation),
// `.`, classes `[...]` / `[^...]` with ranges, \p{..} / \P{..} for general categories (L, Lu,
// N, Nd, P, S, M, Z, C ... and their long names), \s \S \d \D, groups (...) (?:...), inline
// case-insensitive groups (?i:...) (ASCII letters fold, as in tokenizers.js), lookahead (?=...)
// and (?!...), quantifiers ? * + {n} {n,} {n,m} {,m} with lazy forms. Anything else (anchors,
// lookbehind, backreferences, \w, \b, scripts in \p{..}, nested classes, possessive
// quantifiers) is refused at compile time with an Unsupported error naming it.
//
// Repetition of a single character never recurses per character, so long runs of letters or
// spaces cost no stack; repeated groups are limited to a small bounded count.
// Thread safety: immutable after Compile(); Find() may run from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "runtime-min/unicode_props.h"

namespace moedist {

class TokenizerRegex {
 public:
  static Result<TokenizerRegex> Compile(std::string_view pattern);

  // Finds the leftmost match starting at or after `start` in `text` (code points); the match is
  // [*begin, *end). Returns false when there is none. The match may be empty.
  bool Find(std::span<const char32_t> text, size_t start, size_t* begin, size_t* end) const;

  const std::string& pattern() const { return pattern_; }

  // Parts of the compiled program, public for the parser and matcher in tokenizer_regex.cpp.
  struct CharClass {
    bool negated = false;
    std::vector<std::pair<char32_t, char32_t>> ranges;  // inclusive
    unicode::CategoryMask categories = 0;               // \p{..}, \d
    std::vector<unicode::CategoryMask> not_categories;  // \P{..}, \D
    bool space = false, not_space = false;              // \s, \S
    uint64_t ascii[2] = {0, 0};                         // final answer for code points < 128
    bool Contains(char32_t c) const;
    bool RawContains(char32_t c) const;  // before negation and the ASCII table
  };
  static constexpr uint32_t kUnbounded = UINT32_MAX;
  struct Node {
    enum class Kind { kChar, kGroup, kLookahead, kNegativeLookahead } kind = Kind::kChar;
    int index = 0;  // kChar: into classes_; otherwise into groups_
    uint32_t min = 1, max = 1;
    bool greedy = true;
  };
  using Sequence = std::vector<Node>;
  // The characters a match can start with: a union of classes, unless it can match empty.
  // Lets the matcher skip alternatives (and start positions) without backtracking into them.
  struct FirstSet {
    bool nullable = false;
    std::vector<int> classes;
    bool Admits(const TokenizerRegex& re, std::span<const char32_t> text, size_t pos) const;
  };
  struct Group {
    std::vector<Sequence> alternatives;
    std::vector<FirstSet> first;  // one per alternative
  };

 private:
  friend class TokenizerRegexParser;
  friend class TokenizerRegexMatcher;
  std::string pattern_;
  std::vector<CharClass> classes_;
  std::vector<Group> groups_;  // groups_[0] is the whole pattern
  FirstSet first_;             // of the whole pattern
};

}  // namespace moedist
