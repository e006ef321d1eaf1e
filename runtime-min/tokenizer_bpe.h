// BpeModel: tokenizer.json's {"type": "BPE"} model. A word starts as one symbol per character
// (per byte for byte-level tokenizers, each byte through the GPT-2 table), and adjacent symbols
// merge by merge rank, lowest rank first and leftmost among equal ranks, until no ranked pair is
// left, as Hugging Face tokenizers (Rust and JS) do. Symbols live in a linked list and candidate
// merges in a binary heap, so a word of n characters costs O(n log n).
//
// Long words (SentencePiece-style tokenizers have no pre-tokenizer, so a whole line is one word)
// are first cut where no merge can ever reach across: between two characters that are adjacent
// inside no vocabulary token. Every symbol is a vocabulary token, so no symbol can span such a
// cut, the pieces merge independently, and the result is exactly that of the whole word; the
// pieces are short, cacheable and cache-friendly.
//
// Handled: merges as "a b" strings or [a, b] pairs, byte_fallback (<0xNN> tokens for characters
// the vocabulary lacks), unk_token with fuse_unk, ignore_merges. Refused: dropout > 0,
// continuing_subword_prefix / end_of_word_suffix (no moedist model uses them).
// Load-time checks: ids in range and unique, merge parts and results in the vocabulary.
// Thread safety: immutable after FromJson(); EncodeWord() may run from any thread with its own
// BpeScratch.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "runtime-min/tokenizer_json.h"

namespace moedist {

// The largest token id moedist accepts; ids index plain arrays.
constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenIdMap = std::unordered_map<std::string, int32_t, TransparentStringHash, std::equal_to<>>;

// Per-call working memory for EncodeWord(): the symbol list, the merge heap and a cache of
// recent words (text is Zipfian, so most words repeat).
struct BpeScratch {
  struct Symbol {
    int32_t id;           // -1: the character is not in the vocabulary
    int32_t prev, next;   // linked list over live symbols; -1 at the ends
    uint32_t begin, end;  // bytes of the word this symbol covers
  };
  // A possible merge of the symbol at `pos` with its right neighbour, packed as rank << 32 |
  // pos so that the smallest integer is the next merge (lowest rank, then leftmost).
  using Candidate = uint64_t;
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::string mapped;  // byte-level words as table characters, for ignore_merges and unknowns
  std::unordered_map<std::string, std::vector<int32_t>, TransparentStringHash, std::equal_to<>>
      cache;
};

class BpeModel {
 public:
  // `byte_level`: words arrive as raw bytes that the GPT-2 table maps to characters (the
  // ByteLevel pre-tokenizer); otherwise words are UTF-8 text.
  static Result<BpeModel> FromJson(const nlohmann::json& model, bool byte_level,
                                   const JsonPath& at);

  // Appends the ids of `word` to `ids`.
  void EncodeWord(std::string_view word, BpeScratch* scratch, std::vector<int32_t>* ids) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  // nullptr when the vocabulary has no such id.
  const std::string* IdToToken(int32_t id) const;
  int32_t id_limit() const { return static_cast<int32_t>(id_to_token_.size()); }

 private:
  struct MergeTarget {
    int32_t rank, new_id;
  };
  // Open addressing over pairs of 32-bit values (token ids, or code points): merges are looked
  // up once per candidate pair, the hottest operation in encoding.
  template <typename Value>
  class PairMap {
   public:
    void Reserve(size_t n);
    // A pair already present is overwritten: the later merge wins, as in Hugging Face.
    void Insert(uint32_t left, uint32_t right, Value value);
    const Value* Find(uint32_t left, uint32_t right) const;

   private:
    static constexpr uint64_t kEmptyKey = ~uint64_t{0};
    static uint64_t Key(uint32_t l, uint32_t r) { return (uint64_t{l} << 32) | r; }
    size_t Slot(uint64_t key) const;
    std::vector<uint64_t> keys_;
    std::vector<Value> values_;
    size_t mask_ = 0;
  };

  Status LoadVocab(const nlohmann::json& vocab, const JsonPath& at);
  Status LoadMerges(const nlohmann::json& merges, const JsonPath& at);
  void LoadAdjacentPairs();
  bool CanJoin(std::string_view word, size_t left_begin, size_t right_begin,
               size_t right_end) const;
  void EncodePiece(std::string_view piece, BpeScratch* s, std::vector<int32_t>* ids) const;
  void MergeSymbols(BpeScratch* s) const;
  void EmitSymbols(std::string_view piece, BpeScratch* s, std::vector<int32_t>* ids) const;
  const MergeTarget* FindMerge(int32_t left, int32_t right) const {
    return left < 0 || right < 0
               ? nullptr
               : merges_.Find(static_cast<uint32_t>(left), static_cast<uint32_t>(right));
  }
  int32_t LookUpChar(std::string_view utf8) const;

  bool byte_level_ = false;
  TokenIdMap token_to_id_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  PairMap<MergeTarget> merges_;
  // Character pairs adjacent inside some vocabulary token (bytes for byte-level models: a
  // 64 Ki-bit table): the places a long word may not be cut.
  PairMap<uint8_t> adjacent_chars_;
  std::vector<uint64_t> adjacent_bytes_;
  std::array<int32_t, 256> byte_symbol_ids_{};    // byte-level: id of each byte's table char
  std::array<int32_t, 256> byte_fallback_ids_{};  // ids of <0x00>..<0xFF>, or -1
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
};

}  // namespace moedist
