// tokenizer.json (+ tokenizer_config.json, config.json) -> llama.cpp's tokenizer.ggml.* keys
// (docs/formats/gguf.md, "Tokenizer").
//
//   byte-level BPE (Qwen, DeepSeek, OLMoE, Llama-3/4): tokenizer.ggml.model "gpt2", tokens in id
//       order, token_type, merges ("a b"), and tokenizer.ggml.pre named from the pre-tokenizer's
//       split regex (the names llama.cpp's llama-vocab.cpp knows; "default" when the pattern is
//       not one moedist recognises, with a warning);
//   SentencePiece-style BPE with byte fallback (Llama-2, Mixtral): model "llama", tokens, scores
//       (minus the merge rank that creates each token, so llama.cpp's score-ordered merging
//       follows the merge list), token_type with <0xNN> byte tokens as BYTE;
//   no tokenizer.json: model "none" (llama.cpp loads the weights without a vocabulary).
// The token list always has exactly `vocab_size` entries (the embedding's rows, which llama.cpp
// requires): ids the tokenizer does not define become "[PAD<id>]" of type UNUSED, and a
// tokenizer with more ids than the embedding is refused. bos/eos/pad ids come from config.json,
// else from tokenizer_config.json's token strings. Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "formats/gguf_value.h"

namespace moedist {

struct TokenizerSources {
  std::optional<std::string> tokenizer_json;         // tokenizer.json text
  std::optional<std::string> tokenizer_config_json;  // tokenizer_config.json text
  std::string config_json;                           // config.json text (bos/eos/pad ids)
  std::string source;                                // directory, for messages
};

struct TokenizerKeys {
  std::vector<GgufKv> kvs;
  std::vector<std::string> warnings;
};

Result<TokenizerKeys> BuildTokenizerKeys(const TokenizerSources& in, int vocab_size);

// Reads tokenizer.json / tokenizer_config.json from `dir` when present (bounded sizes).
Result<TokenizerSources> ReadTokenizerSources(const std::string& dir, std::string config_json);

}  // namespace moedist
