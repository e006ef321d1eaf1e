// Parser half of TokenizerRegex: pattern text -> classes and groups. Recursive descent over the
// pattern's code points; every refusal names the construct and its position.
#include <string>

#include "runtime-min/tokenizer_regex.h"
#include "runtime-min/unicode_utf8.h"

namespace moedist {

namespace {

// Matching recurses once per pattern node; this bounds the stack a hostile pattern can take.
constexpr size_t kMaxPatternCodePoints = 4096;
constexpr int kMaxNesting = 32;
// Repeated groups recurse once per repetition; keep that small and bounded.
constexpr uint32_t kMaxGroupRepeat = 64;

bool IsAsciiLetter(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char32_t SwapAsciiCase(char32_t c) {
  return c ^ 0x20;
}
int HexValue(char32_t c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
  return -1;
}

}  // namespace

class TokenizerRegexParser {
 public:
  TokenizerRegexParser(TokenizerRegex& re, std::u32string p) : re_(re), p_(std::move(p)) {}

  Status Parse() {
    re_.groups_.emplace_back();
    RETURN_IF_ERROR(ParseAlternation(0, false, 0));
    if (pos_ != p_.size()) return Error("unmatched ')'");
    ComputeFirstSets();
    return Status::Ok();
  }

 private:
  using CharClass = TokenizerRegex::CharClass;
  using Node = TokenizerRegex::Node;

  // One item of a class or one escape: a single character or a set.
  struct Item {
    bool is_char = false;
    char32_t c = 0;
    CharClass set;
  };

  Status Error(std::string_view what) const {
    return Status::Corruption("regex \"{}\": {} at position {}", re_.pattern_, what, pos_);
  }
  Status Refuse(std::string_view what) const {
    return Status::Unsupported(
        "regex \"{}\": {} at position {} is not supported by moedist's "
        "tokenizer regex engine",
        re_.pattern_, what, pos_);
  }
  bool AtEnd() const { return pos_ >= p_.size(); }
  char32_t Peek(size_t ahead = 0) const { return pos_ + ahead < p_.size() ? p_[pos_ + ahead] : 0; }
  bool LookingAt(std::u32string_view s) const {
    return std::u32string_view(p_).substr(pos_, s.size()) == s;
  }

  Status ParseAlternation(int group, bool icase, int depth) {
    if (depth > kMaxNesting) return Refuse("groups nested more than 32 deep");
    re_.groups_[group].alternatives.emplace_back();
    while (!AtEnd() && Peek() != ')') {
      if (Peek() == '|') {
        ++pos_;
        re_.groups_[group].alternatives.emplace_back();
        continue;
      }
      Node node;
      RETURN_IF_ERROR(ParseAtom(icase, depth, &node));
      RETURN_IF_ERROR(ParseQuantifier(&node));
      re_.groups_[group].alternatives.back().push_back(node);
    }
    return Status::Ok();
  }

  Status ParseAtom(bool icase, int depth, Node* node) {
    const char32_t c = Peek();
    switch (c) {
      case '(': return ParseGroup(icase, depth, node);
      case '[': {
        ++pos_;
        CharClass set;
        RETURN_IF_ERROR(ParseClass(&set));
        return AddClass(std::move(set), icase, node);
      }
      case '.': {
        ++pos_;
        CharClass set;
        set.negated = true;
        set.ranges.push_back({'\n', '\n'});
        return AddClass(std::move(set), false, node);
      }
      case '\\': {
        Item item;
        RETURN_IF_ERROR(ParseEscape(/*in_class=*/false, &item));
        return AddClass(ItemToClass(std::move(item)), icase, node);
      }
      case '^': return Refuse("anchor '^'");
      case '$': return Refuse("anchor '$'");
      case '*':
      case '+':
      case '?': return Error("nothing to repeat");
      default: {
        ++pos_;
        CharClass set;
        set.ranges.push_back({c, c});
        return AddClass(std::move(set), icase, node);
      }
    }
  }

  Status ParseGroup(bool icase, int depth, Node* node) {
    ++pos_;  // '('
    node->kind = Node::Kind::kGroup;
    if (LookingAt(U"?:")) {
      pos_ += 2;
    } else if (LookingAt(U"?i:")) {
      pos_ += 3;
      icase = true;
    } else if (LookingAt(U"?=")) {
      pos_ += 2;
      node->kind = Node::Kind::kLookahead;
    } else if (LookingAt(U"?!")) {
      pos_ += 2;
      node->kind = Node::Kind::kNegativeLookahead;
    } else if (LookingAt(U"?<=") || LookingAt(U"?<!")) {
      return Refuse("lookbehind");
    } else if (Peek() == '?') {
      return Refuse("group syntax '(?'");
    }
    // Capturing groups only group here: Split keeps whole matches, not captures.
    node->index = static_cast<int>(re_.groups_.size());
    re_.groups_.emplace_back();
    RETURN_IF_ERROR(ParseAlternation(node->index, icase, depth + 1));
    if (Peek() != ')') return Error("missing ')'");
    ++pos_;
    return Status::Ok();
  }

  Status ParseQuantifier(Node* node) {
    uint32_t min = 1, max = 1;
    const char32_t c = Peek();
    if (c == '?') {
      min = 0;
      ++pos_;
    } else if (c == '*') {
      min = 0, max = TokenizerRegex::kUnbounded;
      ++pos_;
    } else if (c == '+') {
      max = TokenizerRegex::kUnbounded;
      ++pos_;
    } else if (c == '{') {
      if (!ParseBraces(&min, &max)) return Status::Ok();  // a literal '{' follows as an atom
    } else {
      return Status::Ok();
    }
    if (max < min) return Error("quantifier {n,m} with m < n");
    bool greedy = true;
    if (Peek() == '?') {
      greedy = false;
      ++pos_;
    } else if (Peek() == '+') {
      return Refuse("possessive quantifier");
    }
    if (node->kind == Node::Kind::kLookahead || node->kind == Node::Kind::kNegativeLookahead) {
      return Refuse("quantified lookahead");
    }
    if (node->kind == Node::Kind::kGroup && max > kMaxGroupRepeat) {
      return Refuse("a group repeated without a small upper bound");
    }
    node->min = min, node->max = max, node->greedy = greedy;
    if (Peek() == '?' || Peek() == '*' || Peek() == '+') return Error("nested quantifier");
    return Status::Ok();
  }

  // {n} {n,} {n,m} {,m}; leaves pos_ alone and returns false when the brace is not a quantifier
  // (Oniguruma and JS then read it as a literal).
  bool ParseBraces(uint32_t* min, uint32_t* max) {
    size_t p = pos_ + 1;
    auto number = [&](uint32_t* out) {
      size_t start = p;
      uint64_t v = 0;
      while (p < p_.size() && p_[p] >= '0' && p_[p] <= '9') {
        v = v * 10 + (p_[p] - '0');
        if (v > 100000) return false;
        ++p;
      }
      *out = static_cast<uint32_t>(v);
      return p > start;
    };
    uint32_t lo = 0, hi = 0;
    bool has_lo = number(&lo);
    if (p < p_.size() && p_[p] == '}') {
      if (!has_lo) return false;
      hi = lo;
    } else if (p < p_.size() && p_[p] == ',') {
      ++p;
      if (!number(&hi)) {
        if (!has_lo) return false;
        hi = TokenizerRegex::kUnbounded;
      }
      if (p >= p_.size() || p_[p] != '}') return false;
    } else {
      return false;
    }
    *min = lo, *max = hi;
    pos_ = p + 1;
    return true;
  }

  Status ParseClass(CharClass* set) {
    if (Peek() == '^') {
      set->negated = true;
      ++pos_;
    }
    bool first = true;
    while (true) {
      if (AtEnd()) return Error("missing ']'");
      char32_t c = Peek();
      if (c == ']' && !first) {
        ++pos_;
        return Status::Ok();
      }
      if (c == '[') return Refuse("nested character class");
      if (LookingAt(U"&&")) return Refuse("class intersection '&&'");
      Item item;
      if (c == '\\') {
        RETURN_IF_ERROR(ParseEscape(/*in_class=*/true, &item));
      } else {
        ++pos_;
        item.is_char = true;
        item.c = c;
      }
      first = false;
      // A range a-b, unless the '-' is the last thing in the class.
      if (item.is_char && Peek() == '-' && Peek(1) != ']' && Peek(1) != 0) {
        ++pos_;
        Item hi;
        if (Peek() == '\\') {
          RETURN_IF_ERROR(ParseEscape(/*in_class=*/true, &hi));
        } else {
          hi.is_char = true;
          hi.c = Peek();
          ++pos_;
        }
        if (!hi.is_char) return Error("range ending in a set");
        if (hi.c < item.c) return Error("range out of order");
        set->ranges.push_back({item.c, hi.c});
        continue;
      }
      MergeItem(std::move(item), set);
    }
  }

  static void MergeItem(Item item, CharClass* set) {
    if (item.is_char) {
      set->ranges.push_back({item.c, item.c});
      return;
    }
    const CharClass& s = item.set;
    set->ranges.insert(set->ranges.end(), s.ranges.begin(), s.ranges.end());
    set->categories |= s.categories;
    set->not_categories.insert(set->not_categories.end(), s.not_categories.begin(),
                               s.not_categories.end());
    set->space |= s.space;
    set->not_space |= s.not_space;
  }

  static CharClass ItemToClass(Item item) {
    if (!item.is_char) return std::move(item.set);
    CharClass set;
    set.ranges.push_back({item.c, item.c});
    return set;
  }

  Status ParseEscape(bool in_class, Item* item) {
    ++pos_;  // '\'
    if (AtEnd()) return Error("pattern ends with '\\'");
    const char32_t c = Peek();
    ++pos_;
    auto single = [&](char32_t v) {
      item->is_char = true;
      item->c = v;
      return Status::Ok();
    };
    switch (c) {
      case 'n': return single('\n');
      case 'r': return single('\r');
      case 't': return single('\t');
      case 'f': return single('\f');
      case 'v': return single('\v');
      case 'a': return single('\a');
      case 'e': return single(0x1B);
      case '0': return single(0);
      case 's': item->set.space = true; return Status::Ok();
      case 'S': item->set.not_space = true; return Status::Ok();
      case 'd': item->set.categories = unicode::Bit(unicode::kNd); return Status::Ok();
      case 'D': item->set.not_categories.push_back(unicode::Bit(unicode::kNd)); return Status::Ok();
      case 'p':
      case 'P': return ParseProperty(c == 'P', item);
      case 'x': return ParseHex(item);
      case 'u': {
        char32_t v = 0;
        for (int i = 0; i < 4; ++i, ++pos_) {
          const int h = HexValue(Peek());
          if (h < 0) return Error("\\u needs 4 hex digits");
          v = v * 16 + static_cast<char32_t>(h);
        }
        return single(v);
      }
      default: break;
    }
    if (c == 'b' && in_class) return single('\b');
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      --pos_;
      return Refuse(fmt::format("escape '\\{}'", static_cast<char>(c)));
    }
    return single(c);  // escaped punctuation or any other character stands for itself
  }

  Status ParseHex(Item* item) {
    char32_t v = 0;
    if (Peek() == '{') {
      ++pos_;
      int digits = 0;
      while (!AtEnd() && Peek() != '}') {
        const int h = HexValue(Peek());
        if (h < 0 || ++digits > 6) return Error("bad \\x{...} escape");
        v = v * 16 + static_cast<char32_t>(h);
        ++pos_;
      }
      if (AtEnd() || digits == 0) return Error("bad \\x{...} escape");
      ++pos_;
      if (v > 0x10FFFF) return Error("\\x{...} past U+10FFFF");
    } else {
      for (int i = 0; i < 2; ++i, ++pos_) {
        const int h = HexValue(Peek());
        if (h < 0) return Error("\\x needs 2 hex digits");
        v = v * 16 + static_cast<char32_t>(h);
      }
    }
    item->is_char = true;
    item->c = v;
    return Status::Ok();
  }

  Status ParseProperty(bool negated, Item* item) {
    std::string name;
    if (Peek() == '{') {
      ++pos_;
      while (!AtEnd() && Peek() != '}') {
        if (Peek() > 0x7F) return Error("non-ASCII property name");
        name += static_cast<char>(Peek());
        ++pos_;
      }
      if (AtEnd()) return Error("missing '}' after \\p{");
      ++pos_;
    } else if (!AtEnd() && Peek() < 0x80) {
      name = static_cast<char>(Peek());  // \pL
      ++pos_;
    }
    if (!name.empty() && name[0] == '^') {  // Oniguruma's \p{^L}
      negated = !negated;
      name.erase(0, 1);
    }
    const unicode::CategoryMask mask = unicode::CategoryMaskByName(name);
    if (mask == 0) {
      return Refuse(
          fmt::format("\\p{{{}}} (only general categories such as L, N, P, S, M, Z, C "
                      "are)",
                      name));
    }
    if (negated) {
      item->set.not_categories.push_back(mask);
    } else {
      item->set.categories = mask;
    }
    return Status::Ok();
  }

  // Finalises a class: case folding for (?i:...) and the ASCII table Contains() reads first.
  Status AddClass(CharClass set, bool icase, Node* node) {
    for (char32_t c = 0; c < 128; ++c) {
      bool in = set.RawContains(c);
      // tokenizers.js folds ASCII letters only; Oniguruma would also fold e.g. U+017F to 's'.
      if (icase && IsAsciiLetter(c)) in = in || set.RawContains(SwapAsciiCase(c));
      if (in != set.negated) set.ascii[c >> 6] |= uint64_t{1} << (c & 63);
    }
    node->kind = Node::Kind::kChar;
    node->index = static_cast<int>(re_.classes_.size());
    re_.classes_.push_back(std::move(set));
    return Status::Ok();
  }

  // Fills every group's per-alternative first sets. A group's index is larger than its
  // parent's, so going backwards finds the inner groups done.
  void ComputeFirstSets() {
    std::vector<TokenizerRegex::FirstSet> unions(re_.groups_.size());
    for (size_t g = re_.groups_.size(); g-- > 0;) {
      auto& group = re_.groups_[g];
      group.first.clear();
      for (const auto& alternative : group.alternatives) {
        TokenizerRegex::FirstSet f;
        f.nullable = true;
        for (const Node& node : alternative) {
          if (node.kind == Node::Kind::kLookahead || node.kind == Node::Kind::kNegativeLookahead) {
            continue;  // zero-width: says nothing about the first character
          }
          bool node_nullable = node.min == 0;
          if (node.kind == Node::Kind::kChar) {
            f.classes.push_back(node.index);
          } else {
            const TokenizerRegex::FirstSet& inner = unions[node.index];
            f.classes.insert(f.classes.end(), inner.classes.begin(), inner.classes.end());
            node_nullable = node_nullable || inner.nullable;
          }
          if (!node_nullable) {
            f.nullable = false;
            break;
          }
        }
        unions[g].nullable = unions[g].nullable || f.nullable;
        unions[g].classes.insert(unions[g].classes.end(), f.classes.begin(), f.classes.end());
        group.first.push_back(std::move(f));
      }
    }
    re_.first_ = std::move(unions[0]);
  }

  TokenizerRegex& re_;
  std::u32string p_;
  size_t pos_ = 0;
};

bool TokenizerRegex::CharClass::RawContains(char32_t c) const {
  for (const auto& [lo, hi] : ranges) {
    if (c >= lo && c <= hi) return true;
  }
  if (space && unicode::IsWhiteSpace(c)) return true;
  if (not_space && !unicode::IsWhiteSpace(c)) return true;
  if (categories == 0 && not_categories.empty()) return false;
  const unicode::CategoryMask bit = unicode::Bit(unicode::GeneralCategory(c));
  if (categories & bit) return true;
  for (unicode::CategoryMask m : not_categories) {
    if (!(m & bit)) return true;
  }
  return false;
}

Result<TokenizerRegex> TokenizerRegex::Compile(std::string_view pattern) {
  TokenizerRegex re;
  re.pattern_ = std::string(pattern);
  std::u32string cps;
  for (size_t i = 0; i < pattern.size();) {
    char32_t cp;
    const size_t n = unicode::DecodeUtf8At(pattern, i, &cp);
    if (n == 0) return Status::Corruption("regex: pattern is not valid UTF-8 at byte {}", i);
    cps += cp;
    i += n;
  }
  if (cps.size() > kMaxPatternCodePoints) {
    return Status::Unsupported("regex: pattern of {} characters is longer than the {} allowed",
                               cps.size(), kMaxPatternCodePoints);
  }
  TokenizerRegexParser parser(re, std::move(cps));
  RETURN_IF_ERROR(parser.Parse());
  return re;
}

}  // namespace moedist
