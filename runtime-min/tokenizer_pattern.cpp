#include "runtime-min/tokenizer_pattern.h"

#include <algorithm>

#include "runtime-min/unicode_utf8.h"

namespace moedist {

void DecodeToCodePoints(std::string_view text, std::vector<char32_t>* cps,
                        std::vector<uint32_t>* offsets) {
  cps->clear();
  if (offsets) offsets->clear();
  for (size_t i = 0; i < text.size();) {
    char32_t cp;
    size_t n = unicode::DecodeUtf8At(text, i, &cp);
    if (n == 0) {  // callers validate first; never loop forever on a bad byte
      cp = 0xFFFD;
      n = 1;
    }
    cps->push_back(cp);
    if (offsets) offsets->push_back(static_cast<uint32_t>(i));
    i += n;
  }
  if (offsets) offsets->push_back(static_cast<uint32_t>(text.size()));
}

Result<TokenizerPattern> TokenizerPattern::FromJson(const nlohmann::json& pattern,
                                                    const JsonPath& at) {
  if (!pattern.is_object()) {
    return Status::Corruption("{}: expected an object {{\"String\" or \"Regex\": ...}}, found {}",
                              at.ToString(), JsonTypeName(pattern));
  }
  TokenizerPattern p;
  if (const auto* regex = FindMember(pattern, "Regex")) {
    if (!regex->is_string()) {
      return Status::Corruption("{}: expected a string", at.Key("Regex").ToString());
    }
    auto compiled = TokenizerRegex::Compile(regex->get<std::string>());
    if (!compiled.ok()) return compiled.status().WithContext(at.Key("Regex").ToString());
    p.regex_ = std::move(compiled).value();
    return p;
  }
  ASSIGN_OR_RETURN(p.literal_, RequireString(pattern, "String", at));
  if (p.literal_.empty()) {
    return Status::Unsupported("{}: an empty String pattern", at.Key("String").ToString());
  }
  if (unicode::FindInvalidUtf8(p.literal_) != std::string_view::npos) {
    return Status::Corruption("{}: not valid UTF-8", at.Key("String").ToString());
  }
  std::vector<char32_t> cps;
  DecodeToCodePoints(p.literal_, &cps, nullptr);
  p.literal_code_.assign(cps.begin(), cps.end());
  return p;
}

void TokenizerPattern::FindAll(std::span<const char32_t> text,
                               std::vector<std::pair<size_t, size_t>>* out) const {
  if (!regex_) {
    auto it = text.begin();
    while (true) {
      it = std::search(it, text.end(), literal_code_.begin(), literal_code_.end());
      if (it == text.end()) return;
      const auto b = static_cast<size_t>(it - text.begin());
      out->emplace_back(b, b + literal_code_.size());
      it += static_cast<std::ptrdiff_t>(literal_code_.size());
    }
  }
  size_t pos = 0, b, e;
  while (pos <= text.size() && regex_->Find(text, pos, &b, &e)) {
    if (e == b) {
      pos = b + 1;  // an empty match: step over one code point, as Oniguruma's iterator does
      continue;
    }
    out->emplace_back(b, e);
    pos = e;
  }
}

std::string TokenizerPattern::ReplaceAll(std::string_view text, std::string_view content) const {
  std::string out;
  if (!regex_) {
    size_t pos = 0;
    while (true) {
      const size_t hit = text.find(literal_, pos);
      if (hit == std::string_view::npos) break;
      out.append(text.substr(pos, hit - pos));
      out.append(content);
      pos = hit + literal_.size();
    }
    out.append(text.substr(pos));
    return out;
  }
  std::vector<char32_t> cps;
  std::vector<uint32_t> offsets;
  DecodeToCodePoints(text, &cps, &offsets);
  std::vector<std::pair<size_t, size_t>> matches;
  FindAll(cps, &matches);
  size_t pos = 0;
  for (const auto& [b, e] : matches) {
    out.append(text.substr(pos, offsets[b] - pos));
    out.append(content);
    pos = offsets[e];
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace moedist
