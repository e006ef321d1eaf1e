// Added tokens (tokenizer.json's "added_tokens": <|im_start|>, </s>, <think>, ...) and the
// matcher that finds them in text before anything else runs. Matching is leftmost-longest, as
// Hugging Face's Aho-Corasick automaton is; single_word, lstrip and rstrip follow Hugging Face's
// Rust AddedVocabulary (single_word refuses a match touching a word character; lstrip/rstrip
// fold neighbouring White_Space into the token).
// Thread safety: immutable after construction.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace moedist {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool lstrip = false, rstrip = false, single_word = false;
  bool normalized = false;  // matched after normalization, against the normalized content
};

class AddedTokenMatcher {
 public:
  // `pattern` is what to look for in the text (the content, or its normalized form); `token`
  // indexes the caller's AddedToken list. A later pattern equal to an earlier one replaces it.
  void Add(std::string_view pattern, int token);
  bool empty() const { return nodes_.size() <= 1; }

  struct Segment {
    size_t begin, end;  // bytes of the text
    int token;          // -1: ordinary text
  };
  // Cuts `text` (valid UTF-8) into ordinary text and added tokens, in order.
  void Split(std::string_view text, const std::vector<AddedToken>& tokens,
             std::vector<Segment>* out) const;

 private:
  // Byte trie: node 0 is the root; edges live in one hash map keyed by (node, byte).
  struct Node {
    int token = -1;
  };
  int Child(int node, uint8_t byte) const;
  // Longest pattern starting at text[i]: its length and token, or length 0.
  std::pair<size_t, int> LongestAt(std::string_view text, size_t i) const;

  std::vector<Node> nodes_ = {Node{}};
  std::unordered_map<uint64_t, int> edges_;
  std::array<bool, 256> first_byte_{};
};

}  // namespace moedist
