// Tokenizer loading: tokenizer.json -> Tokenizer::Impl, one checked field at a time.
#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "runtime-min/tokenizer.h"
#include "runtime-min/tokenizer_impl.h"
#include "runtime-min/unicode_utf8.h"

namespace moedist {

namespace {

const nlohmann::json& MemberOrNull(const nlohmann::json& obj, std::string_view key) {
  static const nlohmann::json kNull;
  const nlohmann::json* v = FindMember(obj, key);
  return v ? *v : kNull;
}

Result<AddedToken> ParseAddedToken(const nlohmann::json& j, const JsonPath& at) {
  if (!j.is_object()) {
    return Status::Corruption("{}: expected an object, found {}", at.ToString(), JsonTypeName(j));
  }
  AddedToken t;
  ASSIGN_OR_RETURN(t.content, RequireString(j, "content", at));
  if (t.content.empty()) return Status::Corruption("{}: empty content", at.ToString());
  ASSIGN_OR_RETURN(int64_t id, OptionalInt(j, "id", -1, at));
  if (id < 0 || id > kMaxTokenId) {
    return Status::Corruption("{}: id {} is missing or outside [0, {}]", at.Key("id").ToString(),
                              id, kMaxTokenId);
  }
  t.id = static_cast<int32_t>(id);
  ASSIGN_OR_RETURN(t.special, OptionalBool(j, "special", false, at));
  ASSIGN_OR_RETURN(t.lstrip, OptionalBool(j, "lstrip", false, at));
  ASSIGN_OR_RETURN(t.rstrip, OptionalBool(j, "rstrip", false, at));
  ASSIGN_OR_RETURN(t.single_word, OptionalBool(j, "single_word", false, at));
  ASSIGN_OR_RETURN(t.normalized, OptionalBool(j, "normalized", !t.special, at));
  return t;
}

Status LoadAddedTokens(const nlohmann::json& root, const JsonPath& at, Tokenizer::Impl* impl) {
  const nlohmann::json* list = FindMember(root, "added_tokens");
  if (list == nullptr) return Status::Ok();
  if (!list->is_array()) {
    return Status::Corruption("{}: expected an array, found {}", at.ToString(),
                              JsonTypeName(*list));
  }
  for (size_t i = 0; i < list->size(); ++i) {
    ASSIGN_OR_RETURN(AddedToken t, ParseAddedToken((*list)[i], at.Index(i)));
    if (!impl->added_by_id.emplace(t.id, impl->added.size()).second) {
      return Status::Corruption("{}: id {} is already used by added token \"{}\"",
                                at.Index(i).ToString(), t.id,
                                impl->added[impl->added_by_id[t.id]].content);
    }
    const int index = static_cast<int>(impl->added.size());
    if (t.normalized) {
      impl->normalized_matcher.Add(impl->normalizer.Apply(t.content), index);
    } else {
      impl->raw_matcher.Add(t.content, index);
    }
    impl->vocab_size = std::max(impl->vocab_size, t.id + 1);
    impl->added.push_back(std::move(t));
  }
  return Status::Ok();
}

}  // namespace

Result<Tokenizer> Tokenizer::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMaxFileBytes));
  return FromJsonText(text, path);
}

Result<Tokenizer> Tokenizer::FromJsonText(std::string_view json_text, std::string_view source) {
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJsonStrict(json_text, source));
  const JsonPath at{std::string(source), ""};
  if (!root.is_object()) {
    return Status::Corruption("{}: expected a JSON object at the top, found {}", source,
                              JsonTypeName(root));
  }
  auto impl = std::make_shared<Impl>();
  impl->source = std::string(source);

  ASSIGN_OR_RETURN(const nlohmann::json* model, RequireObject(root, "model", at));
  ASSIGN_OR_RETURN(std::string type, RequireString(*model, "type", at.Key("model")));
  if (type != "BPE") {
    return Status::Unsupported("{}: model type \"{}\" is not supported (supported: BPE)",
                               at.Key("model").Key("type").ToString(), type);
  }
  ASSIGN_OR_RETURN(impl->normalizer,
                   Normalizer::FromJson(MemberOrNull(root, "normalizer"), at.Key("normalizer")));
  ASSIGN_OR_RETURN(impl->pre_tokenizer, PreTokenizer::FromJson(MemberOrNull(root, "pre_tokenizer"),
                                                               at.Key("pre_tokenizer")));
  ASSIGN_OR_RETURN(impl->model,
                   BpeModel::FromJson(*model, impl->pre_tokenizer.byte_level(), at.Key("model")));
  impl->vocab_size = impl->model.id_limit();
  ASSIGN_OR_RETURN(impl->decoder,
                   TokenDecoder::FromJson(MemberOrNull(root, "decoder"), at.Key("decoder")));
  RETURN_IF_ERROR(LoadAddedTokens(root, at.Key("added_tokens"), impl.get()));
  // "post_processor", "truncation" and "padding" only matter when special tokens are added or
  // batches are shaped, which moedist never asks for.
  return Tokenizer(std::move(impl));
}

}  // namespace moedist
