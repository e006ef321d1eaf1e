#include "runtime-min/tokenizer.h"

#include "runtime-min/tokenizer_impl.h"
#include "runtime-min/unicode_utf8.h"

namespace moedist {

namespace {

// Working memory for one Encode() call, reused across the text's stretches and words.
struct EncodeScratch {
  std::vector<AddedTokenMatcher::Segment> raw_segments, normalized_segments;
  std::vector<std::string_view> words;
  PreTokenizeScratch pre;
  BpeScratch bpe;
};

// Steps 2 to 5 for one stretch of text that holds no raw added token.
void EncodeStretch(const Tokenizer::Impl& t, std::string_view stretch, EncodeScratch* s,
                   std::vector<int32_t>* ids) {
  const std::string normalized = t.normalizer.Apply(stretch);
  s->normalized_segments.clear();
  t.normalized_matcher.Split(normalized, t.added, &s->normalized_segments);
  for (const auto& seg : s->normalized_segments) {
    if (seg.token >= 0) {
      ids->push_back(t.added[seg.token].id);
      continue;
    }
    s->words.clear();
    t.pre_tokenizer.Split(std::string_view(normalized).substr(seg.begin, seg.end - seg.begin),
                          &s->pre, &s->words);
    for (std::string_view word : s->words) {
      t.model.EncodeWord(word, &s->bpe, ids);
    }
  }
}

}  // namespace

Result<std::vector<int32_t>> Tokenizer::Encode(std::string_view text) const {
  if (const size_t bad = unicode::FindInvalidUtf8(text); bad != std::string_view::npos) {
    return Status::InvalidArgument("text to tokenize is not valid UTF-8 (byte {})", bad);
  }
  const Impl& t = *impl_;
  EncodeScratch s;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3);
  t.raw_matcher.Split(text, t.added, &s.raw_segments);
  for (const auto& seg : s.raw_segments) {
    if (seg.token >= 0) {
      ids.push_back(t.added[seg.token].id);
    } else {
      EncodeStretch(t, text.substr(seg.begin, seg.end - seg.begin), &s, &ids);
    }
  }
  return ids;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const Impl& t = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (auto it = t.added_by_id.find(id); it != t.added_by_id.end()) {
      const AddedToken& added = t.added[it->second];
      if (!(skip_special_tokens && added.special)) tokens.push_back(added.content);
    } else if (const std::string* token = t.model.IdToToken(id)) {
      tokens.push_back(*token);
    }
  }
  return t.decoder.Decode(std::move(tokens));
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  for (const AddedToken& a : impl_->added) {
    if (a.content == token) return a.id;
  }
  return impl_->model.TokenToId(token);
}

std::optional<std::string> Tokenizer::IdToToken(int32_t id) const {
  if (auto it = impl_->added_by_id.find(id); it != impl_->added_by_id.end()) {
    return impl_->added[it->second].content;
  }
  if (const std::string* token = impl_->model.IdToToken(id)) return *token;
  return std::nullopt;
}

int32_t Tokenizer::vocab_size() const {
  return impl_->vocab_size;
}

}  // namespace moedist
