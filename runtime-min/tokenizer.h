// Tokenizer: loads a Hugging Face tokenizer.json and encodes text to token ids and back, with
// the ids Hugging Face `tokenizers` gives for encode(text, add_special_tokens=False).
//
// Encoding, in Hugging Face's order: (1) cut the text at added tokens that are matched before
// normalization, (2) normalize each remaining stretch, (3) cut it at added tokens matched after
// normalization, (4) pre-tokenize into words, (5) run the BPE model on each word. The
// post-processor is never applied: no BOS/EOS or template tokens are added.
//
// Supported: BPE models with byte-level pre-tokenization (GPT-2 / Llama-3 / Qwen2 / Qwen3 /
// DeepSeek-V3 style) and SentencePiece-style BPE with byte fallback (Llama-2 / Mistral /
// Mixtral). Unsupported parts (other model types, normalizers, pre-tokenizers or decoders,
// regex constructs) fail at load time with an Unsupported error naming the file and field;
// docs/tokenizer.md lists what is handled.
//
// Thread safety: immutable after loading; Encode() and Decode() may run concurrently. Copies
// share the loaded tables.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace moedist {

class Tokenizer {
 public:
  // tokenizer.json files above this size are refused before reading (the largest real ones,
  // Qwen's, are about 11 MB).
  static constexpr uint64_t kMaxFileBytes = uint64_t{64} << 20;

  static Result<Tokenizer> LoadFile(const std::string& path);
  // `source` names the text in errors (a path, or "test tokenizer").
  static Result<Tokenizer> FromJsonText(std::string_view json_text, std::string_view source);

  // Ids for `text`, which must be valid UTF-8 (InvalidArgument otherwise). Cost is linear in
  // the text up to a log factor for very long words.
  Result<std::vector<int32_t>> Encode(std::string_view text) const;

  // Text for `ids`. Ids that name no token are skipped, as Hugging Face does, so a model whose
  // embedding is padded past the vocabulary can decode anything it samples.
  std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  std::optional<std::string> IdToToken(int32_t id) const;
  // One past the largest id of the vocabulary or the added tokens.
  int32_t vocab_size() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace moedist
