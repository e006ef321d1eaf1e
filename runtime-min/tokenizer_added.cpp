#include "runtime-min/tokenizer_added.h"

#include "runtime-min/unicode_props.h"
#include "runtime-min/unicode_utf8.h"

namespace moedist {

namespace {

uint64_t EdgeKey(int node, uint8_t byte) {
  return (static_cast<uint64_t>(node) << 8) | byte;
}

// Regex \w as Rust's regex crate reads it, near enough: letters, marks, digits, connectors.
bool IsWordChar(char32_t c) {
  using namespace unicode;
  return InCategories(c, kLetters | kMarks | Bit(kNd) | Bit(kNl) | Bit(kPc));
}

char32_t CodePointBefore(std::string_view text, size_t end) {
  size_t b = end;
  while (b > 0 && (static_cast<uint8_t>(text[b - 1]) & 0xC0) == 0x80) --b;
  if (b > 0) --b;
  char32_t cp = 0;
  unicode::DecodeUtf8At(text, b, &cp);
  return cp;
}

}  // namespace

void AddedTokenMatcher::Add(std::string_view pattern, int token) {
  if (pattern.empty()) return;
  int node = 0;
  for (char ch : pattern) {
    const auto byte = static_cast<uint8_t>(ch);
    int next = Child(node, byte);
    if (next < 0) {
      next = static_cast<int>(nodes_.size());
      nodes_.push_back(Node{});
      edges_.emplace(EdgeKey(node, byte), next);
    }
    node = next;
  }
  nodes_[node].token = token;
  first_byte_[static_cast<uint8_t>(pattern[0])] = true;
}

int AddedTokenMatcher::Child(int node, uint8_t byte) const {
  auto it = edges_.find(EdgeKey(node, byte));
  return it == edges_.end() ? -1 : it->second;
}

std::pair<size_t, int> AddedTokenMatcher::LongestAt(std::string_view text, size_t i) const {
  std::pair<size_t, int> best{0, -1};
  int node = 0;
  for (size_t j = i; j < text.size(); ++j) {
    node = Child(node, static_cast<uint8_t>(text[j]));
    if (node < 0) break;
    if (nodes_[node].token >= 0) best = {j + 1 - i, nodes_[node].token};
  }
  return best;
}

void AddedTokenMatcher::Split(std::string_view text, const std::vector<AddedToken>& tokens,
                              std::vector<Segment>* out) const {
  size_t done = 0;  // end of the last emitted segment
  size_t i = 0;
  while (i < text.size()) {
    if (!first_byte_[static_cast<uint8_t>(text[i])]) {
      ++i;
      continue;
    }
    const auto [length, token] = LongestAt(text, i);
    if (length == 0) {
      ++i;
      continue;
    }
    size_t start = i, stop = i + length;
    const AddedToken& t = tokens[token];
    if (t.single_word) {
      char32_t after = 0;
      const bool word_before = start > 0 && IsWordChar(CodePointBefore(text, start));
      const bool word_after =
          stop < text.size() && unicode::DecodeUtf8At(text, stop, &after) && IsWordChar(after);
      if (word_before || word_after) {  // not a whole word: not a match (search goes on after)
        i = stop;
        continue;
      }
    }
    if (t.lstrip) {
      while (start > done && unicode::IsWhiteSpace(CodePointBefore(text, start))) {
        --start;
        while (start > done && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
      }
    }
    if (t.rstrip) {
      char32_t cp;
      size_t n;
      while (stop < text.size() && (n = unicode::DecodeUtf8At(text, stop, &cp)) > 0 &&
             unicode::IsWhiteSpace(cp)) {
        stop += n;
      }
    }
    if (done < start) out->push_back({done, start, -1});
    out->push_back({start, stop, token});
    done = i = stop;
  }
  if (done < text.size()) out->push_back({done, text.size(), -1});
}

}  // namespace moedist
