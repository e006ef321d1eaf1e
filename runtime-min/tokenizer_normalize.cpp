#include "runtime-min/tokenizer_normalize.h"

#include "runtime-min/unicode_nfc.h"
#include "runtime-min/unicode_props.h"
#include "runtime-min/unicode_utf8.h"

namespace moedist {

namespace {

// `text` without White_Space code points at the chosen ends (Rust's str::trim_start/trim_end).
std::string StripWhiteSpace(std::string_view text, bool left, bool right) {
  std::vector<char32_t> cps;
  std::vector<uint32_t> offsets;
  DecodeToCodePoints(text, &cps, &offsets);
  size_t b = 0, e = cps.size();
  if (left) {
    while (b < e && unicode::IsWhiteSpace(cps[b])) ++b;
  }
  if (right) {
    while (e > b && unicode::IsWhiteSpace(cps[e - 1])) --e;
  }
  return std::string(text.substr(offsets[b], offsets[e] - offsets[b]));
}

}  // namespace

Status Normalizer::AddStep(const nlohmann::json& config, const JsonPath& at, Normalizer* out) {
  if (!config.is_object()) {
    return Status::Corruption("{}: expected an object, found {}", at.ToString(),
                              JsonTypeName(config));
  }
  ASSIGN_OR_RETURN(std::string type, RequireString(config, "type", at));
  if (type == "Sequence") {
    const nlohmann::json* list = FindMember(config, "normalizers");
    if (list == nullptr || !list->is_array()) {
      return Status::Corruption("{}: expected an array", at.Key("normalizers").ToString());
    }
    for (size_t i = 0; i < list->size(); ++i) {
      RETURN_IF_ERROR(AddStep((*list)[i], at.Key("normalizers").Index(i), out));
    }
    return Status::Ok();
  }
  Step step{};
  if (type == "NFC") {
    step.kind = Step::Kind::kNfc;
  } else if (type == "Prepend") {
    step.kind = Step::Kind::kPrepend;
    ASSIGN_OR_RETURN(step.text, RequireString(config, "prepend", at));
  } else if (type == "Replace") {
    step.kind = Step::Kind::kReplace;
    const nlohmann::json* pattern = FindMember(config, "pattern");
    if (pattern == nullptr) {
      return Status::Corruption("{}: missing field", at.Key("pattern").ToString());
    }
    ASSIGN_OR_RETURN(auto compiled, TokenizerPattern::FromJson(*pattern, at.Key("pattern")));
    step.pattern = std::move(compiled);
    ASSIGN_OR_RETURN(step.text, RequireString(config, "content", at));
  } else if (type == "Strip") {
    step.kind = Step::Kind::kStrip;
    ASSIGN_OR_RETURN(step.strip_left, OptionalBool(config, "strip_left", false, at));
    ASSIGN_OR_RETURN(step.strip_right, OptionalBool(config, "strip_right", false, at));
  } else {
    return Status::Unsupported(
        "{}: normalizer type \"{}\" is not supported (supported: NFC, "
        "Prepend, Replace, Strip, Sequence)",
        at.Key("type").ToString(), type);
  }
  for (const std::string* s : {&step.text}) {
    if (unicode::FindInvalidUtf8(*s) != std::string_view::npos) {
      return Status::Corruption("{}: text is not valid UTF-8", at.ToString());
    }
  }
  out->steps_.push_back(std::move(step));
  return Status::Ok();
}

Result<Normalizer> Normalizer::FromJson(const nlohmann::json& config, const JsonPath& at) {
  Normalizer n;
  if (!config.is_null()) RETURN_IF_ERROR(AddStep(config, at, &n));
  return n;
}

std::string Normalizer::Apply(std::string_view text) const {
  std::string s(text);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Step::Kind::kNfc: s = unicode::ToNfc(s); break;
      case Step::Kind::kPrepend:
        if (!s.empty()) s.insert(0, step.text);
        break;
      case Step::Kind::kReplace: s = step.pattern->ReplaceAll(s, step.text); break;
      case Step::Kind::kStrip: s = StripWhiteSpace(s, step.strip_left, step.strip_right); break;
    }
  }
  return s;
}

}  // namespace moedist
