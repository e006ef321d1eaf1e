// Matcher half of TokenizerRegex: backtracking with continuations. MatchSequence(seq, i, pos, k)
// matches seq[i..] at `pos` and then asks the continuation `k` whether the rest of the pattern
// accepts the end position; the first accepted path wins, which gives Oniguruma's (and JS's)
// leftmost, first-alternative semantics.
#include "runtime-min/tokenizer_regex.h"

#include <type_traits>

namespace moedist {

namespace {

// A non-owning reference to a callable bool(size_t), like absl::FunctionRef.
class ContinuationRef {
 public:
  template <typename F,
            typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, ContinuationRef>>>
  ContinuationRef(const F& f)  // NOLINT: implicit by design
      : object_(&f),
        call_([](const void* o, size_t p) { return (*static_cast<const F*>(o))(p); }) {}
  bool operator()(size_t pos) const { return call_(object_, pos); }

 private:
  const void* object_;
  bool (*call_)(const void*, size_t);
};

}  // namespace

bool TokenizerRegex::CharClass::Contains(char32_t c) const {
  if (c < 128) return (ascii[c >> 6] >> (c & 63)) & 1;
  return RawContains(c) != negated;
}

bool TokenizerRegex::FirstSet::Admits(const TokenizerRegex& re, std::span<const char32_t> text,
                                      size_t pos) const {
  if (nullable) return true;
  if (pos >= text.size()) return false;
  for (int c : classes) {
    if (re.classes_[c].Contains(text[pos])) return true;
  }
  return false;
}

class TokenizerRegexMatcher {
 public:
  TokenizerRegexMatcher(const TokenizerRegex& re, std::span<const char32_t> text)
      : re_(re), text_(text) {}

  bool MatchGroup(int group, size_t pos, ContinuationRef k) const {
    const TokenizerRegex::Group& g = re_.groups_[group];
    for (size_t a = 0; a < g.alternatives.size(); ++a) {
      if (g.first[a].Admits(re_, text_, pos) && MatchSequence(g.alternatives[a], 0, pos, k)) {
        return true;
      }
    }
    return false;
  }

 private:
  using Node = TokenizerRegex::Node;
  using Sequence = TokenizerRegex::Sequence;

  bool MatchSequence(const Sequence& seq, size_t i, size_t pos, ContinuationRef k) const {
    if (i == seq.size()) return k(pos);
    const Node& node = seq[i];
    switch (node.kind) {
      case Node::Kind::kChar: return MatchCharRun(seq, i, pos, k);
      case Node::Kind::kGroup: return MatchRepeatedGroup(seq, i, 0, pos, k);
      case Node::Kind::kLookahead:
      case Node::Kind::kNegativeLookahead: {
        const bool found = MatchGroup(node.index, pos, [](size_t) { return true; });
        if (found != (node.kind == Node::Kind::kLookahead)) return false;
        return MatchSequence(seq, i + 1, pos, k);
      }
    }
    return false;
  }

  // A repeated single character: count the run once, then try the rest from the longest (greedy)
  // or shortest (lazy) end, without recursing per character.
  bool MatchCharRun(const Sequence& seq, size_t i, size_t pos, ContinuationRef k) const {
    const Node& node = seq[i];
    const TokenizerRegex::CharClass& set = re_.classes_[node.index];
    size_t n = 0;
    const size_t room = text_.size() - pos;
    const size_t limit =
        node.max == TokenizerRegex::kUnbounded ? room : std::min<size_t>(node.max, room);
    while (n < limit && set.Contains(text_[pos + n])) ++n;
    if (n < node.min) return false;
    if (node.greedy) {
      for (size_t c = n + 1; c-- > node.min;) {
        if (MatchSequence(seq, i + 1, pos + c, k)) return true;
      }
    } else {
      for (size_t c = node.min; c <= n; ++c) {
        if (MatchSequence(seq, i + 1, pos + c, k)) return true;
      }
    }
    return false;
  }

  // Group repetitions recurse once per repetition; the parser bounds the count.
  bool MatchRepeatedGroup(const Sequence& seq, size_t i, uint32_t count, size_t pos,
                          ContinuationRef k) const {
    const Node& node = seq[i];
    auto again = [&](size_t p) {
      if (p == pos && count >= node.min) return false;  // an empty repetition adds nothing
      return MatchRepeatedGroup(seq, i, count + 1, p, k);
    };
    if (node.greedy) {
      if (count < node.max && MatchGroup(node.index, pos, again)) return true;
      return count >= node.min && MatchSequence(seq, i + 1, pos, k);
    }
    if (count >= node.min && MatchSequence(seq, i + 1, pos, k)) return true;
    return count < node.max && MatchGroup(node.index, pos, again);
  }

  const TokenizerRegex& re_;
  std::span<const char32_t> text_;
};

bool TokenizerRegex::Find(std::span<const char32_t> text, size_t start, size_t* begin,
                          size_t* end) const {
  TokenizerRegexMatcher matcher(*this, text);
  for (size_t p = start; p <= text.size(); ++p) {
    if (!first_.Admits(*this, text, p)) continue;
    size_t found_end = 0;
    if (matcher.MatchGroup(0, p, [&](size_t e) {
          found_end = e;
          return true;
        })) {
      *begin = p;
      *end = found_end;
      return true;
    }
  }
  return false;
}

}  // namespace moedist
