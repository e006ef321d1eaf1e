#include "pipeline/gguf_tokenizer_keys.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "core/json_strict.h"
#include "core/mapped_file.h"

namespace moedist {
namespace {

using nlohmann::json;

// llama_token_type (llama.h).
enum TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6
};

constexpr uint64_t kMaxTokenizerBytes = 256ull << 20;

// obj[key] when it has the type of `fallback`, else `fallback` (null and absent alike).
template <typename T>
T ValueOr(const json& obj, const char* key, T fallback) {
  if (!obj.is_object() || !obj.contains(key)) return fallback;
  const json& v = obj[key];
  if constexpr (std::is_same_v<T, bool>) {
    return v.is_boolean() ? v.get<bool>() : fallback;
  } else {
    return v.is_string() ? v.get<std::string>() : fallback;
  }
}

// Split regexes of the pre-tokenizers llama.cpp names (llama-vocab.cpp), by their exact text.
constexpr std::string_view kQwen2Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

std::vector<std::string> SplitRegexes(const json& pre) {
  std::vector<std::string> out;
  if (!pre.is_object()) return out;
  const std::string type = ValueOr(pre, "type", std::string());
  if (type == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    for (const json& p : pre["pretokenizers"]) {
      for (std::string& r : SplitRegexes(p)) out.push_back(std::move(r));
    }
  } else if (type == "Split" && pre.contains("pattern") && pre["pattern"].is_object() &&
             pre["pattern"].contains("Regex") && pre["pattern"]["Regex"].is_string()) {
    out.push_back(pre["pattern"]["Regex"].get<std::string>());
  }
  return out;
}

// tokenizer.ggml.pre for a byte-level BPE tokenizer, or "" when unrecognised.
std::string PreTokenizerName(const json& tok) {
  const json pre = tok.contains("pre_tokenizer") ? tok["pre_tokenizer"] : json();
  const std::vector<std::string> splits = SplitRegexes(pre);
  if (splits.size() == 1 && splits[0] == kQwen2Split) return "qwen2";
  if (splits.size() == 1 && splits[0] == kLlama3Split) return "llama-bpe";
  if (splits.size() == 3 && splits[0] == R"(\p{N}{1,3})" &&
      splits[1].find("一-龥") != std::string::npos) {
    return "deepseek-v3";
  }
  if (splits.empty() && pre.is_object() && ValueOr(pre, "type", std::string()) == "ByteLevel" &&
      ValueOr(pre, "use_regex", true)) {
    return "gpt-2";
  }
  return "";
}

bool IsByteLevel(const json& tok) {
  const json& dec = tok.contains("decoder") ? tok["decoder"] : json();
  return dec.is_object() && ValueOr(dec, "type", std::string()) == "ByteLevel";
}

Result<std::optional<int>> TokenId(const json& cfg, const char* key, const std::string& where) {
  if (!cfg.contains(key) || cfg[key].is_null()) return std::optional<int>();
  json v = cfg[key];
  if (v.is_array() && !v.empty()) v = v[0];  // some configs list several eos ids
  if (!v.is_number_integer() || v.get<int64_t>() < 0) {
    return Status::Corruption("{}: \"{}\" is not a token id", where, key);
  }
  return std::optional<int>(v.get<int>());
}

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::map<std::string, int, std::less<>> ids;
};

Result<Vocab> ReadVocab(const json& tok, int vocab_size, const std::string& where) {
  const json& model = tok["model"];
  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    return Status::Corruption("{}: model.vocab is not an object", where);
  }
  Vocab v;
  v.tokens.resize(vocab_size);
  v.types.assign(vocab_size, kUnused);
  std::vector<bool> set(vocab_size, false);
  auto put = [&](const std::string& text, int64_t id, int32_t type) -> Status {
    if (id < 0 || id >= vocab_size) {
      return Status::Unsupported("{}: token {:?} has id {}, outside the embedding's {} rows", where,
                                 text, id, vocab_size);
    }
    v.tokens[id] = text;
    v.types[id] = type;
    set[id] = true;
    v.ids[text] = static_cast<int>(id);
    return Status::Ok();
  };
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer())
      return Status::Corruption("{}: model.vocab[{:?}] is not an id", where, text);
    RETURN_IF_ERROR(put(text, id.get<int64_t>(), kNormal));
  }
  if (tok.contains("added_tokens") && tok["added_tokens"].is_array()) {
    for (const json& a : tok["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
          !a.contains("content") || !a["content"].is_string()) {
        return Status::Corruption("{}: an added_tokens entry lacks id or content", where);
      }
      RETURN_IF_ERROR(put(a["content"].get<std::string>(), a["id"].get<int64_t>(),
                          ValueOr(a, "special", false) ? kControl : kUserDefined));
    }
  }
  for (int i = 0; i < vocab_size; ++i) {
    if (!set[i]) v.tokens[i] = fmt::format("[PAD{}]", i);
  }
  return v;
}

Result<std::vector<std::string>> ReadMerges(const json& tok, const std::string& where) {
  std::vector<std::string> out;
  const json& model = tok["model"];
  if (!model.contains("merges")) return out;
  for (const json& m : model["merges"]) {
    if (m.is_string()) {
      out.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      out.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      return Status::Corruption("{}: model.merges[{}] is neither \"a b\" nor [a, b]", where,
                                out.size());
    }
  }
  return out;
}

// SentencePiece-style scores: a token created by merge r scores -(r + 1); other tokens 0.
std::vector<float> MergeScores(const Vocab& v, const std::vector<std::string>& merges) {
  std::vector<float> scores(v.tokens.size(), 0.0f);
  for (size_t r = 0; r < merges.size(); ++r) {
    const size_t sp = merges[r].find(' ');
    if (sp == std::string::npos) continue;
    const std::string merged = merges[r].substr(0, sp) + merges[r].substr(sp + 1);
    auto it = v.ids.find(merged);
    if (it != v.ids.end() && scores[it->second] == 0.0f) {
      scores[it->second] = -static_cast<float>(r + 1);
    }
  }
  return scores;
}

bool IsByteToken(std::string_view t) {
  return t.size() == 6 && t.starts_with("<0x") && t.ends_with(">") &&
         std::isxdigit(static_cast<unsigned char>(t[3])) &&
         std::isxdigit(static_cast<unsigned char>(t[4]));
}

}  // namespace

Result<TokenizerSources> ReadTokenizerSources(const std::string& dir, std::string config_json) {
  namespace fs = std::filesystem;
  TokenizerSources s;
  s.config_json = std::move(config_json);
  s.source = dir;
  std::error_code ec;
  if (const fs::path p = fs::path(dir) / "tokenizer.json"; fs::exists(p, ec)) {
    ASSIGN_OR_RETURN(s.tokenizer_json, ReadSmallFile(p.string(), kMaxTokenizerBytes));
  }
  if (const fs::path p = fs::path(dir) / "tokenizer_config.json"; fs::exists(p, ec)) {
    ASSIGN_OR_RETURN(s.tokenizer_config_json, ReadSmallFile(p.string(), kMaxTokenizerBytes));
  }
  return s;
}

Result<TokenizerKeys> BuildTokenizerKeys(const TokenizerSources& in, int vocab_size) {
  TokenizerKeys out;
  auto add = [&](std::string key, GgufValue v) {
    out.kvs.push_back({std::move(key), std::move(v)});
  };
  if (!in.tokenizer_json) {
    add("tokenizer.ggml.model", GgufValue::String("none"));
    out.warnings.push_back(
        fmt::format("{}: no tokenizer.json; the GGUF has no vocabulary", in.source));
    return out;
  }
  const std::string where = in.source + "/tokenizer.json";
  ASSIGN_OR_RETURN(json tok, ParseJsonStrict(*in.tokenizer_json, where));
  if (!tok.is_object() || !tok.contains("model") || !tok["model"].is_object()) {
    return Status::Corruption("{}: no \"model\" object", where);
  }
  if (ValueOr(tok["model"], "type", std::string()) != "BPE") {
    return Status::Unsupported("{}: model.type {} is not written as GGUF (BPE only)", where,
                               ValueOr(tok["model"], "type", std::string("?")));
  }
  ASSIGN_OR_RETURN(Vocab vocab, ReadVocab(tok, vocab_size, where));
  ASSIGN_OR_RETURN(std::vector<std::string> merges, ReadMerges(tok, where));
  const bool byte_fallback = ValueOr(tok["model"], "byte_fallback", false);
  json tcfg = json::object();
  if (in.tokenizer_config_json) {
    ASSIGN_OR_RETURN(
        tcfg, ParseJsonStrict(*in.tokenizer_config_json, in.source + "/tokenizer_config.json"));
  }
  bool spm = false;
  if (IsByteLevel(tok)) {
    std::string pre = PreTokenizerName(tok);
    if (pre.empty()) {
      pre = "default";
      out.warnings.push_back(fmt::format(
          "{}: pre-tokenizer not recognised; tokenizer.ggml.pre is \"default\"", where));
    }
    add("tokenizer.ggml.model", GgufValue::String("gpt2"));
    add("tokenizer.ggml.pre", GgufValue::String(pre));
  } else if (byte_fallback) {
    spm = true;
    add("tokenizer.ggml.model", GgufValue::String("llama"));
    add("tokenizer.ggml.pre", GgufValue::String("default"));
    const std::string unk = ValueOr(tok["model"], "unk_token", std::string());
    for (size_t i = 0; i < vocab.tokens.size(); ++i) {
      if (vocab.types[i] != kNormal) continue;
      if (IsByteToken(vocab.tokens[i])) vocab.types[i] = kByte;
      if (!unk.empty() && vocab.tokens[i] == unk) vocab.types[i] = kUnknown;
    }
  } else {
    return Status::Unsupported(
        "{}: a BPE tokenizer that is neither byte-level nor byte-fallback SentencePiece", where);
  }
  add("tokenizer.ggml.tokens", GgufValue::Array(GgufArray::Strings(vocab.tokens)));
  if (spm) {
    const std::vector<float> scores = MergeScores(vocab, merges);
    add("tokenizer.ggml.scores", GgufValue::Array(GgufArray::Of(std::span<const float>(scores))));
  }
  add("tokenizer.ggml.token_type",
      GgufValue::Array(GgufArray::Of(std::span<const int32_t>(vocab.types))));
  if (!spm) add("tokenizer.ggml.merges", GgufValue::Array(GgufArray::Strings(merges)));

  ASSIGN_OR_RETURN(json cfg, ParseJsonStrict(in.config_json, in.source + "/config.json"));
  auto special = [&](const char* cfg_key, const char* tcfg_key, const char* gguf_key) -> Status {
    ASSIGN_OR_RETURN(std::optional<int> id, TokenId(cfg, cfg_key, in.source + "/config.json"));
    if (!id && tcfg.contains(tcfg_key) && tcfg[tcfg_key].is_string()) {
      auto it = vocab.ids.find(tcfg[tcfg_key].get<std::string>());
      if (it != vocab.ids.end()) id = it->second;
    }
    if (id && *id < vocab_size) add(gguf_key, GgufValue::U32(static_cast<uint32_t>(*id)));
    return Status::Ok();
  };
  RETURN_IF_ERROR(special("bos_token_id", "bos_token", "tokenizer.ggml.bos_token_id"));
  RETURN_IF_ERROR(special("eos_token_id", "eos_token", "tokenizer.ggml.eos_token_id"));
  RETURN_IF_ERROR(special("pad_token_id", "pad_token", "tokenizer.ggml.padding_token_id"));
  const bool add_bos = ValueOr(tcfg, "add_bos_token", spm);
  add("tokenizer.ggml.add_bos_token", GgufValue::Bool(add_bos));
  add("tokenizer.ggml.add_eos_token", GgufValue::Bool(ValueOr(tcfg, "add_eos_token", false)));
  return out;
}

}  // namespace moedist
