#include "runtime-min/tokenizer_decode.h"

#include "runtime-min/tokenizer_bytelevel.h"
#include "runtime-min/unicode_utf8.h"

namespace moedist {

namespace {

using Tokens = std::vector<std::string>;

// Each token's characters back to bytes through the GPT-2 table; a token with a character
// outside the table (an added token such as "<｜begin▁of▁sentence｜>") keeps its own bytes.
Tokens DecodeByteLevel(const Tokens& tokens) {
  std::string bytes;
  std::vector<char32_t> cps;
  for (const std::string& t : tokens) {
    DecodeToCodePoints(t, &cps, nullptr);
    std::string mapped;
    bool all_in_table = true;
    for (char32_t c : cps) {
      const int b = UnicodeToByte(c);
      if (b < 0) {
        all_in_table = false;
        break;
      }
      mapped += static_cast<char>(b);
    }
    bytes += all_in_table ? mapped : t;
  }
  return {unicode::Utf8Lossy(bytes)};
}

// Runs of <0xNN> tokens become the text they encode; an invalid run becomes one U+FFFD per
// byte, as in Hugging Face's Rust ByteFallback decoder.
Tokens DecodeByteFallback(const Tokens& tokens) {
  Tokens out;
  std::string pending;
  auto flush = [&] {
    if (pending.empty()) return;
    if (unicode::FindInvalidUtf8(pending) == std::string_view::npos) {
      out.push_back(pending);
    } else {
      for (size_t i = 0; i < pending.size(); ++i) out.push_back("\xEF\xBF\xBD");
    }
    pending.clear();
  };
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (const std::string& t : tokens) {
    if (t.size() == 6 && t.starts_with("<0x") && t.back() == '>' && hex(t[3]) >= 0 &&
        hex(t[4]) >= 0) {
      pending += static_cast<char>(hex(t[3]) * 16 + hex(t[4]));
      continue;
    }
    flush();
    out.push_back(t);
  }
  flush();
  return out;
}

// Removes up to `start` leading and `stop` trailing copies of `c` from each token.
Tokens DecodeStrip(const Tokens& tokens, char32_t c, size_t start, size_t stop) {
  Tokens out;
  std::vector<char32_t> cps;
  std::vector<uint32_t> offsets;
  for (const std::string& t : tokens) {
    DecodeToCodePoints(t, &cps, &offsets);
    size_t b = 0, e = cps.size();
    while (b < start && b < e && cps[b] == c) ++b;
    for (size_t i = 0; i < stop && e > b && cps[e - 1] == c; ++i) --e;
    out.push_back(t.substr(offsets[b], offsets[e] - offsets[b]));
  }
  return out;
}

}  // namespace

Status TokenDecoder::AddStep(const nlohmann::json& config, const JsonPath& at, TokenDecoder* out) {
  if (!config.is_object()) {
    return Status::Corruption("{}: expected an object, found {}", at.ToString(),
                              JsonTypeName(config));
  }
  ASSIGN_OR_RETURN(std::string type, RequireString(config, "type", at));
  if (type == "Sequence") {
    const nlohmann::json* list = FindMember(config, "decoders");
    if (list == nullptr || !list->is_array()) {
      return Status::Corruption("{}: expected an array", at.Key("decoders").ToString());
    }
    for (size_t i = 0; i < list->size(); ++i) {
      RETURN_IF_ERROR(AddStep((*list)[i], at.Key("decoders").Index(i), out));
    }
    return Status::Ok();
  }
  Step step{};
  if (type == "ByteLevel") {
    step.kind = Step::Kind::kByteLevel;
  } else if (type == "ByteFallback") {
    step.kind = Step::Kind::kByteFallback;
  } else if (type == "Fuse") {
    step.kind = Step::Kind::kFuse;
  } else if (type == "Replace") {
    step.kind = Step::Kind::kReplace;
    const nlohmann::json* pattern = FindMember(config, "pattern");
    if (pattern == nullptr) {
      return Status::Corruption("{}: missing field", at.Key("pattern").ToString());
    }
    ASSIGN_OR_RETURN(auto compiled, TokenizerPattern::FromJson(*pattern, at.Key("pattern")));
    step.pattern = std::move(compiled);
    ASSIGN_OR_RETURN(step.content, RequireString(config, "content", at));
  } else if (type == "Strip") {
    step.kind = Step::Kind::kStrip;
    ASSIGN_OR_RETURN(std::string content, RequireString(config, "content", at));
    std::vector<char32_t> cps;
    DecodeToCodePoints(content, &cps, nullptr);
    if (cps.size() != 1) {
      return Status::Corruption("{}: expected one character", at.Key("content").ToString());
    }
    step.strip_char = cps[0];
    ASSIGN_OR_RETURN(int64_t start, OptionalInt(config, "start", 0, at));
    ASSIGN_OR_RETURN(int64_t stop, OptionalInt(config, "stop", 0, at));
    if (start < 0 || stop < 0) {
      return Status::Corruption("{}: start and stop must not be negative", at.ToString());
    }
    step.strip_start = static_cast<size_t>(start);
    step.strip_stop = static_cast<size_t>(stop);
  } else {
    return Status::Unsupported(
        "{}: decoder type \"{}\" is not supported (supported: ByteLevel, "
        "Replace, ByteFallback, Fuse, Strip, Sequence)",
        at.Key("type").ToString(), type);
  }
  out->steps_.push_back(std::move(step));
  return Status::Ok();
}

Result<TokenDecoder> TokenDecoder::FromJson(const nlohmann::json& config, const JsonPath& at) {
  TokenDecoder d;
  if (config.is_null()) return d;
  d.present_ = true;
  RETURN_IF_ERROR(AddStep(config, at, &d));
  return d;
}

std::string TokenDecoder::Decode(Tokens tokens) const {
  if (!present_) {  // Hugging Face joins with spaces when there is no decoder
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Step::Kind::kByteLevel: tokens = DecodeByteLevel(tokens); break;
      case Step::Kind::kByteFallback: tokens = DecodeByteFallback(tokens); break;
      case Step::Kind::kFuse: {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens.assign(1, std::move(all));
        break;
      }
      case Step::Kind::kReplace:
        for (std::string& t : tokens) t = step.pattern->ReplaceAll(t, step.content);
        break;
      case Step::Kind::kStrip:
        tokens = DecodeStrip(tokens, step.strip_char, step.strip_start, step.strip_stop);
        break;
    }
  }
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

}  // namespace moedist
