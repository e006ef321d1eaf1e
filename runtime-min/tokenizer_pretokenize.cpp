#include "runtime-min/tokenizer_pretokenize.h"

#include <algorithm>

#include "runtime-min/unicode_props.h"

namespace moedist {

namespace {

// GPT-2's pattern, which ByteLevel applies itself when use_regex is true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

using Behavior = PreTokenizer::Behavior;
using Marked = std::vector<std::pair<std::pair<size_t, size_t>, bool>>;

Result<Behavior> ParseBehavior(const std::string& name, const JsonPath& at) {
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  return Status::Corruption("{}: unknown split behavior \"{}\"", at.ToString(), name);
}

// Hugging Face's SplitDelimiterBehavior applied to (range, is_match) pieces that cover the
// text in order; appends the kept, non-empty ranges to `out`. `merged` is scratch.
void ApplyBehavior(Behavior behavior, const Marked& marked, Marked* merged,
                   std::vector<std::pair<size_t, size_t>>* out) {
  if (behavior == Behavior::kIsolated || behavior == Behavior::kRemoved) {
    for (const auto& [range, is_match] : marked) {
      if (!(is_match && behavior == Behavior::kRemoved)) out->push_back(range);
    }
    return;
  }
  merged->clear();
  bool previous_match = false;
  for (size_t k = 0; k < marked.size(); ++k) {
    // MergedWithNext is MergedWithPrevious run backwards.
    const bool backwards = behavior == Behavior::kMergedWithNext;
    const auto& [range, is_match] = marked[backwards ? marked.size() - 1 - k : k];
    const bool join = behavior == Behavior::kContiguous ? is_match == previous_match
                                                        : is_match && !previous_match;
    if (join && !merged->empty()) {
      (backwards ? merged->back().first.first : merged->back().first.second) =
          backwards ? range.first : range.second;
    } else {
      merged->push_back({range, false});
    }
    previous_match = is_match;
  }
  if (behavior == Behavior::kMergedWithNext) std::reverse(merged->begin(), merged->end());
  for (const auto& m : *merged) out->push_back(m.first);
}

}  // namespace

Status PreTokenizer::AddStep(const nlohmann::json& config, const JsonPath& at, bool last,
                             PreTokenizer* out) {
  if (!config.is_object()) {
    return Status::Corruption("{}: expected an object, found {}", at.ToString(),
                              JsonTypeName(config));
  }
  // A reference into the Result rather than ASSIGN_OR_RETURN: GCC 12 warns, wrongly, that the
  // moved-out string may be uninitialized here.
  const Result<std::string> type_or = RequireString(config, "type", at);
  if (!type_or.ok()) return type_or.status();
  const std::string& type = type_or.value();
  if (out->byte_level_) {
    return Status::Unsupported("{}: a pre-tokenizer after ByteLevel (ByteLevel must be last)",
                               at.ToString());
  }
  if (type == "Sequence") {
    const nlohmann::json* list = FindMember(config, "pretokenizers");
    if (list == nullptr || !list->is_array()) {
      return Status::Corruption("{}: expected an array", at.Key("pretokenizers").ToString());
    }
    for (size_t i = 0; i < list->size(); ++i) {
      RETURN_IF_ERROR(AddStep((*list)[i], at.Key("pretokenizers").Index(i),
                              last && i + 1 == list->size(), out));
    }
    return Status::Ok();
  }
  Step step;
  if (type == "Split") {
    const nlohmann::json* pattern = FindMember(config, "pattern");
    if (pattern == nullptr)
      return Status::Corruption("{}: missing field", at.Key("pattern").ToString());
    ASSIGN_OR_RETURN(auto compiled, TokenizerPattern::FromJson(*pattern, at.Key("pattern")));
    step.pattern = std::move(compiled);
    ASSIGN_OR_RETURN(std::string behavior, RequireString(config, "behavior", at));
    ASSIGN_OR_RETURN(step.behavior, ParseBehavior(behavior, at.Key("behavior")));
    ASSIGN_OR_RETURN(step.invert, OptionalBool(config, "invert", false, at));
  } else if (type == "Digits") {
    step.kind = Step::Kind::kDigits;
    ASSIGN_OR_RETURN(step.individual_digits, OptionalBool(config, "individual_digits", false, at));
  } else if (type == "ByteLevel") {
    out->byte_level_ = true;
    ASSIGN_OR_RETURN(out->add_prefix_space_, OptionalBool(config, "add_prefix_space", true, at));
    ASSIGN_OR_RETURN(out->use_gpt2_regex_, OptionalBool(config, "use_regex", true, at));
    if (out->use_gpt2_regex_) {
      ASSIGN_OR_RETURN(auto re, TokenizerPattern::FromJson({{"Regex", kGpt2Pattern}}, at));
      out->gpt2_regex_pattern_ = std::move(re);
    }
    return Status::Ok();
  } else {
    return Status::Unsupported(
        "{}: pre-tokenizer type \"{}\" is not supported (supported: "
        "Sequence, Split, Digits, ByteLevel)",
        at.Key("type").ToString(), type);
  }
  out->steps_.push_back(std::move(step));
  return Status::Ok();
}

Result<PreTokenizer> PreTokenizer::FromJson(const nlohmann::json& config, const JsonPath& at) {
  PreTokenizer p;
  if (config.is_null()) return p;
  RETURN_IF_ERROR(AddStep(config, at, true, &p));
  return p;
}

void PreTokenizer::ApplyStep(const Step& step, PreTokenizeScratch* s) const {
  s->next_pieces.clear();
  const std::span<const char32_t> all(s->code_points);
  for (const auto& [begin, end] : s->pieces) {
    const auto piece = all.subspan(begin, end - begin);
    s->marked.clear();
    size_t last = 0;
    // `begin` by value: clang before 16 cannot capture a structured binding (the fuzz build).
    auto mark = [&, begin = begin](size_t b, size_t e) {
      if (last < b) s->marked.push_back({{begin + last, begin + b}, step.invert});
      s->marked.push_back({{begin + b, begin + e}, !step.invert});
      last = e;
    };
    if (step.kind == Step::Kind::kSplit) {
      s->matches.clear();
      step.pattern->FindAll(piece, &s->matches);
      for (const auto& [b, e] : s->matches) mark(b, e);
    } else {
      // Rust's char::is_numeric: general categories Nd, Nl and No; each digit is one match.
      for (size_t i = 0; i < piece.size(); ++i) {
        if (unicode::InCategories(piece[i], unicode::kNumbers)) mark(i, i + 1);
      }
    }
    if (last < piece.size()) s->marked.push_back({{begin + last, end}, step.invert});
    const Behavior behavior = step.kind == Step::Kind::kSplit ? step.behavior
                              : step.individual_digits        ? Behavior::kIsolated
                                                              : Behavior::kContiguous;
    ApplyBehavior(behavior, s->marked, &s->merged, &s->next_pieces);
  }
  std::swap(s->pieces, s->next_pieces);
}

void PreTokenizer::EmitWords(std::string_view text, PreTokenizeScratch* s,
                             std::vector<std::string_view>* words) const {
  for (const auto& [b, e] : s->pieces) {
    std::string_view word = text.substr(s->offsets[b], s->offsets[e] - s->offsets[b]);
    if (!byte_level_ || (!add_prefix_space_ && !use_gpt2_regex_)) {
      words->push_back(word);
      continue;
    }
    if (add_prefix_space_ && word.front() != ' ') {
      s->owned.push_back(" " + std::string(word));
      word = s->owned.back();
    }
    if (!use_gpt2_regex_) {
      words->push_back(word);
      continue;
    }
    std::vector<char32_t> cps;
    std::vector<uint32_t> offsets;
    DecodeToCodePoints(word, &cps, &offsets);
    std::vector<std::pair<size_t, size_t>> matches;
    gpt2_regex_pattern_->FindAll(cps, &matches);
    size_t last = 0;  // Isolated: the text between matches is a word too
    auto emit = [&](size_t mb, size_t me) {
      words->push_back(word.substr(offsets[mb], offsets[me] - offsets[mb]));
    };
    for (const auto& [mb, me] : matches) {
      if (last < mb) emit(last, mb);
      emit(mb, me);
      last = me;
    }
    if (last < cps.size()) emit(last, cps.size());
  }
}

void PreTokenizer::Split(std::string_view text, PreTokenizeScratch* s,
                         std::vector<std::string_view>* words) const {
  s->owned.clear();
  if (steps_.empty() && !byte_level_) {
    words->push_back(text);
    return;
  }
  DecodeToCodePoints(text, &s->code_points, &s->offsets);
  s->pieces.assign(1, {0, s->code_points.size()});
  for (const Step& step : steps_) ApplyStep(step, s);
  EmitWords(text, s, words);
}

}  // namespace moedist
