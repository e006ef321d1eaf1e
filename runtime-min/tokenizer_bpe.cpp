#include "runtime-min/tokenizer_bpe.h"

#include <fmt/format.h>

#include <algorithm>

#include "runtime-min/tokenizer_bytelevel.h"
#include "runtime-min/tokenizer_pattern.h"
#include "runtime-min/unicode_utf8.h"

namespace moedist {

namespace {

constexpr size_t kMaxVocabEntries = size_t{1} << 22;
constexpr size_t kMaxMerges = size_t{1} << 22;
// Words longer than this are rare and not worth a cache entry; the cache stops growing at
// kMaxCacheEntries words so a pathological text cannot grow memory without bound.
constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kMaxCacheEntries = size_t{1} << 16;

using Candidate = BpeScratch::Candidate;
constexpr auto kHeapOrder = std::greater<Candidate>();  // std heaps are max-heaps

Candidate MakeCandidate(int32_t rank, int32_t pos) {
  return (static_cast<uint64_t>(rank) << 32) | static_cast<uint32_t>(pos);
}

}  // namespace

template <typename Value>
void BpeModel::PairMap<Value>::Reserve(size_t n) {
  size_t capacity = 16;
  while (capacity < n * 2) capacity *= 2;
  keys_.assign(capacity, kEmptyKey);
  values_.assign(capacity, Value{});
  mask_ = capacity - 1;
}

template <typename Value>
size_t BpeModel::PairMap<Value>::Slot(uint64_t key) const {
  const uint64_t h = key * 0x9E3779B97F4A7C15ull;  // Fibonacci hashing spreads packed pairs
  size_t slot = static_cast<size_t>(h >> 20) & mask_;
  while (keys_[slot] != kEmptyKey && keys_[slot] != key) slot = (slot + 1) & mask_;
  return slot;
}

template <typename Value>
void BpeModel::PairMap<Value>::Insert(uint32_t left, uint32_t right, Value value) {
  const uint64_t key = Key(left, right);
  const size_t slot = Slot(key);
  keys_[slot] = key;
  values_[slot] = value;
}

template <typename Value>
const Value* BpeModel::PairMap<Value>::Find(uint32_t left, uint32_t right) const {
  if (keys_.empty()) return nullptr;
  const size_t slot = Slot(Key(left, right));
  return keys_[slot] == kEmptyKey ? nullptr : &values_[slot];
}

Status BpeModel::LoadVocab(const nlohmann::json& vocab, const JsonPath& at) {
  if (!vocab.is_object()) {
    return Status::Corruption("{}: expected an object of token -> id, found {}", at.ToString(),
                              JsonTypeName(vocab));
  }
  if (vocab.size() > kMaxVocabEntries) {
    return Status::Unsupported("{}: {} entries, more than the {} moedist accepts", at.ToString(),
                               vocab.size(), kMaxVocabEntries);
  }
  int64_t max_id = -1;
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > kMaxTokenId) {
      return Status::Corruption("{}: token \"{}\" has id {}, expected an integer in [0, {}]",
                                at.ToString(), token, id.dump(), kMaxTokenId);
    }
    max_id = std::max(max_id, id.get<int64_t>());
  }
  id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string());
  has_id_.assign(static_cast<size_t>(max_id + 1), false);
  token_to_id_.reserve(vocab.size());
  for (const auto& [token, id_json] : vocab.items()) {
    const auto id = static_cast<int32_t>(id_json.get<int64_t>());
    if (has_id_[id]) {
      return Status::Corruption("{}: id {} is given to both \"{}\" and \"{}\"", at.ToString(), id,
                                id_to_token_[id], token);
    }
    has_id_[id] = true;
    id_to_token_[id] = token;
    token_to_id_.emplace(token, id);
  }
  return Status::Ok();
}

Status BpeModel::LoadMerges(const nlohmann::json& merges, const JsonPath& at) {
  if (!merges.is_array()) {
    return Status::Corruption("{}: expected an array, found {}", at.ToString(),
                              JsonTypeName(merges));
  }
  if (merges.size() > kMaxMerges) {
    return Status::Unsupported("{}: {} merges, more than the {} moedist accepts", at.ToString(),
                               merges.size(), kMaxMerges);
  }
  merges_.Reserve(merges.size());
  std::string left, right;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const nlohmann::json& m = merges[rank];
    if (m.is_string()) {  // "left right", split at the first space as Hugging Face does
      const std::string& text = m.get_ref<const std::string&>();
      const size_t space = text.find(' ');
      if (space == std::string::npos) {
        return Status::Corruption("{}: \"{}\" is not two tokens separated by a space",
                                  at.Index(rank).ToString(), text);
      }
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      return Status::Corruption("{}: expected \"a b\" or [\"a\", \"b\"], found {}",
                                at.Index(rank).ToString(), m.dump().substr(0, 80));
    }
    const auto l = TokenToId(left), r = TokenToId(right), merged = TokenToId(left + right);
    for (const auto& [name, id] : {std::pair{&left, l}, {&right, r}}) {
      if (!id) {
        return Status::Corruption("{}: token \"{}\" is not in the vocabulary",
                                  at.Index(rank).ToString(), *name);
      }
    }
    if (!merged) {
      return Status::Corruption("{}: merged token \"{}\" is not in the vocabulary",
                                at.Index(rank).ToString(), left + right);
    }
    merges_.Insert(static_cast<uint32_t>(*l), static_cast<uint32_t>(*r),
                   MergeTarget{static_cast<int32_t>(rank), *merged});
  }
  return Status::Ok();
}

Result<BpeModel> BpeModel::FromJson(const nlohmann::json& model, bool byte_level,
                                    const JsonPath& at) {
  BpeModel m;
  m.byte_level_ = byte_level;
  const nlohmann::json* vocab = FindMember(model, "vocab");
  if (vocab == nullptr) return Status::Corruption("{}: missing field", at.Key("vocab").ToString());
  RETURN_IF_ERROR(m.LoadVocab(*vocab, at.Key("vocab")));
  const nlohmann::json* merges = FindMember(model, "merges");
  if (merges == nullptr) {
    return Status::Corruption("{}: missing field", at.Key("merges").ToString());
  }
  RETURN_IF_ERROR(m.LoadMerges(*merges, at.Key("merges")));

  if (const nlohmann::json* dropout = FindMember(model, "dropout")) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0) {
      return Status::Unsupported("{}: BPE dropout {} (encoding must be deterministic)",
                                 at.Key("dropout").ToString(), dropout->dump());
    }
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    ASSIGN_OR_RETURN(std::string affix, OptionalString(model, key, "", at));
    if (!affix.empty()) {
      return Status::Unsupported("{}: \"{}\" is not supported", at.Key(key).ToString(), affix);
    }
  }
  ASSIGN_OR_RETURN(std::string unk, OptionalString(model, "unk_token", "", at));
  if (!unk.empty()) {
    m.unk_id_ = m.TokenToId(unk);
    if (!m.unk_id_) {
      return Status::Corruption("{}: \"{}\" is not in the vocabulary",
                                at.Key("unk_token").ToString(), unk);
    }
  }
  ASSIGN_OR_RETURN(m.byte_fallback_, OptionalBool(model, "byte_fallback", false, at));
  ASSIGN_OR_RETURN(m.fuse_unk_, OptionalBool(model, "fuse_unk", false, at));
  ASSIGN_OR_RETURN(m.ignore_merges_, OptionalBool(model, "ignore_merges", false, at));
  for (int b = 0; b < 256; ++b) {
    m.byte_symbol_ids_[b] = m.LookUpChar(ByteToUnicodeUtf8(static_cast<uint8_t>(b)));
    m.byte_fallback_ids_[b] = m.TokenToId(fmt::format("<0x{:02X}>", b)).value_or(-1);
  }
  m.LoadAdjacentPairs();
  return m;
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view token) const {
  auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::IdToToken(int32_t id) const {
  if (id < 0 || id >= id_limit() || !has_id_[id]) return nullptr;
  return &id_to_token_[id];
}

int32_t BpeModel::LookUpChar(std::string_view utf8) const {
  auto it = token_to_id_.find(utf8);
  return it == token_to_id_.end() ? -1 : it->second;
}

void BpeModel::MergeSymbols(BpeScratch* s) const {
  auto& sym = s->symbols;
  auto& heap = s->heap;
  heap.clear();
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(sym.size()); ++i) {
    if (const MergeTarget* m = FindMerge(sym[i].id, sym[i + 1].id)) {
      heap.push_back(MakeCandidate(m->rank, i));
    }
  }
  std::make_heap(heap.begin(), heap.end(), kHeapOrder);
  auto consider = [&](int32_t left) {
    const int32_t right = sym[left].next;
    if (right < 0) return;
    if (const MergeTarget* m = FindMerge(sym[left].id, sym[right].id)) {
      heap.push_back(MakeCandidate(m->rank, left));
      std::push_heap(heap.begin(), heap.end(), kHeapOrder);
    }
  };
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), kHeapOrder);
    const auto rank = static_cast<int32_t>(heap.back() >> 32);
    const auto pos = static_cast<int32_t>(heap.back() & 0xFFFFFFFFu);
    heap.pop_back();
    BpeScratch::Symbol& left = sym[pos];
    if (left.begin == left.end || left.next < 0) continue;  // absorbed, or now last
    BpeScratch::Symbol& right = sym[left.next];
    // Skip candidates made stale by an earlier merge next to them: ranks are unique per pair,
    // so the pair is unchanged exactly when its rank is.
    const MergeTarget* m = FindMerge(left.id, right.id);
    if (m == nullptr || m->rank != rank) continue;
    left.id = m->new_id;
    left.end = right.end;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = pos;
    right.end = right.begin;  // dead
    if (left.prev >= 0) consider(left.prev);
    consider(pos);
  }
}

void BpeModel::EmitSymbols(std::string_view piece, BpeScratch* s, std::vector<int32_t>* ids) const {
  bool last_was_unk = false;
  for (int32_t i = 0; i >= 0; i = s->symbols[i].next) {  // symbol 0 is always the head
    const BpeScratch::Symbol& sym = s->symbols[i];
    if (sym.id >= 0) {
      ids->push_back(sym.id);
      last_was_unk = false;
      continue;
    }
    // An unknown character: its bytes as <0xNN> tokens, else <unk>, else nothing (as HF).
    const std::string_view text = byte_level_
                                      ? ByteToUnicodeUtf8(static_cast<uint8_t>(piece[sym.begin]))
                                      : piece.substr(sym.begin, sym.end - sym.begin);
    if (byte_fallback_ && std::all_of(text.begin(), text.end(), [&](char c) {
          return byte_fallback_ids_[static_cast<uint8_t>(c)] >= 0;
        })) {
      for (char c : text) ids->push_back(byte_fallback_ids_[static_cast<uint8_t>(c)]);
      last_was_unk = false;
      continue;
    }
    if (unk_id_ && !(fuse_unk_ && last_was_unk)) ids->push_back(*unk_id_);
    last_was_unk = unk_id_.has_value();
  }
}

void BpeModel::LoadAdjacentPairs() {
  if (byte_level_) {
    adjacent_bytes_.assign(65536 / 64, 0);
  } else {
    adjacent_chars_.Reserve(id_to_token_.size() * 4);
  }
  std::vector<char32_t> cps;
  for (size_t id = 0; id < id_to_token_.size(); ++id) {
    if (!has_id_[id]) continue;
    DecodeToCodePoints(id_to_token_[id], &cps, nullptr);
    for (size_t i = 0; i + 1 < cps.size(); ++i) {
      if (!byte_level_) {
        adjacent_chars_.Insert(cps[i], cps[i + 1], 1);
        continue;
      }
      const int a = UnicodeToByte(cps[i]), b = UnicodeToByte(cps[i + 1]);
      if (a >= 0 && b >= 0) {  // tokens with other characters never form from byte symbols
        const unsigned bit = static_cast<unsigned>(a) << 8 | static_cast<unsigned>(b);
        adjacent_bytes_[bit >> 6] |= uint64_t{1} << (bit & 63);
      }
    }
  }
}

// Whether some vocabulary token holds the character at [left_begin, right_begin) followed by
// the one at [right_begin, right_end).
bool BpeModel::CanJoin(std::string_view word, size_t left_begin, size_t right_begin,
                       size_t right_end) const {
  if (byte_level_) {
    const unsigned bit = static_cast<unsigned>(static_cast<uint8_t>(word[left_begin])) << 8 |
                         static_cast<uint8_t>(word[right_begin]);
    return (adjacent_bytes_[bit >> 6] >> (bit & 63)) & 1;
  }
  char32_t a = 0, b = 0;
  unicode::DecodeUtf8At(word, left_begin, &a);
  unicode::DecodeUtf8At(word.substr(0, right_end), right_begin, &b);
  return adjacent_chars_.Find(a, b) != nullptr;
}

void BpeModel::EncodePiece(std::string_view piece, BpeScratch* s, std::vector<int32_t>* ids) const {
  const bool cacheable = piece.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    auto it = s->cache.find(piece);
    if (it != s->cache.end()) {
      ids->insert(ids->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = ids->size();
  auto& sym = s->symbols;
  sym.clear();
  for (uint32_t i = 0; i < piece.size();) {
    uint32_t n = 1;
    int32_t id;
    if (byte_level_) {
      id = byte_symbol_ids_[static_cast<uint8_t>(piece[i])];
    } else {
      char32_t cp;
      n = static_cast<uint32_t>(std::max<size_t>(1, unicode::DecodeUtf8At(piece, i, &cp)));
      id = LookUpChar(piece.substr(i, n));
    }
    const auto index = static_cast<int32_t>(sym.size());
    sym.push_back({id, index - 1, index + 1, i, i + n});
    i += n;
  }
  sym.back().next = -1;
  MergeSymbols(s);
  EmitSymbols(piece, s, ids);
  if (cacheable && s->cache.size() < kMaxCacheEntries) {
    s->cache.emplace(std::string(piece), std::vector<int32_t>(ids->begin() + first, ids->end()));
  }
}

void BpeModel::EncodeWord(std::string_view word, BpeScratch* s, std::vector<int32_t>* ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {  // a word that is itself a token skips merging (Llama-3 style)
    std::optional<int32_t> whole;
    if (byte_level_) {
      s->mapped.clear();
      for (char c : word) s->mapped += ByteToUnicodeUtf8(static_cast<uint8_t>(c));
      whole = TokenToId(s->mapped);
    } else {
      whole = TokenToId(word);
    }
    if (whole) {
      ids->push_back(*whole);
      return;
    }
  }
  if (word.size() <= kMaxCachedWordBytes) {
    EncodePiece(word, s, ids);
    return;
  }
  // A long word: cut it where no merge can reach across and encode the pieces on their own.
  size_t piece_begin = 0, prev = 0;
  char32_t cp;
  for (size_t i = 0; i < word.size();) {
    const size_t n = byte_level_ ? 1 : std::max<size_t>(1, unicode::DecodeUtf8At(word, i, &cp));
    if (i > 0 && !CanJoin(word, prev, i, i + n)) {
      EncodePiece(word.substr(piece_begin, i - piece_begin), s, ids);
      piece_begin = i;
    }
    prev = i;
    i += n;
  }
  EncodePiece(word.substr(piece_begin), s, ids);
}

}  // namespace moedist
