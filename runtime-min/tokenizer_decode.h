// TokenDecoder: tokenizer.json's "decoder", which turns token strings back into text, with the
// semantics of Hugging Face's Rust decoders. Supported: ByteLevel, Replace (String or Regex),
// ByteFallback, Fuse, Strip and Sequence of these; no decoder joins tokens with spaces. Others
// (Metaspace, WordPiece, BPEDecoder, CTC) are refused with an Unsupported error naming the type.
// Thread safety: immutable after FromJson().
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "runtime-min/tokenizer_json.h"
#include "runtime-min/tokenizer_pattern.h"

namespace moedist {

class TokenDecoder {
 public:
  // `config` may be null.
  static Result<TokenDecoder> FromJson(const nlohmann::json& config, const JsonPath& at);

  std::string Decode(std::vector<std::string> tokens) const;

 private:
  struct Step {
    enum class Kind { kByteLevel, kReplace, kByteFallback, kFuse, kStrip } kind;
    std::optional<TokenizerPattern> pattern;  // kReplace
    std::string content;                      // kReplace: replacement
    char32_t strip_char = ' ';                // kStrip
    size_t strip_start = 0, strip_stop = 0;   // kStrip
  };
  static Status AddStep(const nlohmann::json& config, const JsonPath& at, TokenDecoder* out);

  bool present_ = false;
  std::vector<Step> steps_;
};

}  // namespace moedist
