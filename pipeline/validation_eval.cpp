#include "pipeline/validation_eval.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "runtime-min/eval.h"
#include "runtime-min/forward.h"
#include "runtime-min/generate.h"
#include "runtime-min/unicode_utf8.h"

namespace moedist {
namespace {

Result<std::vector<float>> RunAllLogits(const MaskedModel& m, std::span<const int32_t> tokens) {
  Sequence seq(*m.model);
  std::vector<float> logits;
  RETURN_IF_ERROR(Forward(*m.model, seq, tokens, {.mask = m.mask, .all_logits = true}, &logits));
  return logits;
}

void Compare(const std::vector<float>& got, const std::vector<float>& want, int vocab,
             const std::string& prompt, LogitComparison& out) {
  if (got.size() != want.size()) {
    if (out.equal) {
      out.first_difference =
          fmt::format("prompt {}: {} logits vs {}", prompt, got.size(), want.size());
    }
    out.equal = false;
    out.max_abs_diff = std::numeric_limits<double>::infinity();
    return;
  }
  if (std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0) return;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(float)) == 0) continue;
    const double d = std::fabs(static_cast<double>(got[i]) - static_cast<double>(want[i]));
    out.max_abs_diff =
        std::max(out.max_abs_diff, std::isnan(d) ? std::numeric_limits<double>::infinity() : d);
    if (out.equal) {
      out.first_difference = fmt::format("prompt {}, position {}, token id {}: {} vs {}", prompt,
                                         i / vocab, i % vocab, got[i], want[i]);
    }
    out.equal = false;
  }
}

}  // namespace

Result<EvalPrompts> TokenizeEvalPrompts(const CalibrationSuite& suite, const Tokenizer* tokenizer,
                                        int max_tokens, int32_t bos) {
  EvalPrompts out;
  for (const CalibrationPrompt& p : suite.prompts) {
    std::vector<int32_t> ids = p.ids;
    if (!p.pretokenized()) {
      if (tokenizer == nullptr) {
        return Status::FailedPrecondition(
            "{}: prompt \"{}\" is text, and the node has no tokenizer.json; give \"ids\" prompts",
            suite.path, p.id);
      }
      ASSIGN_OR_RETURN(ids, tokenizer->Encode(p.text));
      if (bos >= 0) ids.insert(ids.begin(), bos);
    }
    if (max_tokens > 0 && static_cast<int>(ids.size()) > max_tokens) ids.resize(max_tokens);
    if (ids.size() < 2) {
      return Status::FailedPrecondition(
          "{}: prompt \"{}\" has {} token(s); scoring needs 2 or more", suite.path, p.id,
          ids.size());
    }
    out.ids.push_back(p.id);
    out.domains.push_back(p.domain);
    out.tokens.push_back(std::move(ids));
  }
  if (out.tokens.empty()) return Status::FailedPrecondition("{}: no prompts", suite.path);
  return out;
}

Result<QualityStats> ScoreEvalPrompts(const MaskedModel& m, const EvalPrompts& prompts,
                                      const MaskedModel* reference, LogitComparison* comparison) {
  const int vocab = m.model->config().vocab_size;
  EvalResult total;
  std::map<std::string, EvalResult> by_domain;
  QualityStats q;
  for (size_t i = 0; i < prompts.tokens.size(); ++i) {
    const auto& tokens = prompts.tokens[i];
    ASSIGN_OR_RETURN(std::vector<float> logits, RunAllLogits(m, tokens));
    EvalResult one;
    ScoreSequence(tokens, logits.data(), vocab, one);
    q.prompt_mean_logprob.push_back(one.mean_logprob());
    ScoreSequence(tokens, logits.data(), vocab, total);
    ScoreSequence(tokens, logits.data(), vocab, by_domain[prompts.domains[i]]);
    if (reference != nullptr && comparison != nullptr) {
      ASSIGN_OR_RETURN(std::vector<float> want, RunAllLogits(*reference, tokens));
      Compare(logits, want, vocab, prompts.ids[i], *comparison);
    }
  }
  q.mean_logprob = total.mean_logprob();
  q.tokens_scored = total.num_predicted;
  for (const auto& [domain, r] : by_domain) q.domain_mean_logprob[domain] = r.mean_logprob();
  return q;
}

std::vector<size_t> PickGenerationPrompts(const EvalPrompts& prompts, int count) {
  std::map<std::string, std::vector<size_t>> by_domain;
  for (size_t i = 0; i < prompts.domains.size(); ++i) by_domain[prompts.domains[i]].push_back(i);
  std::vector<size_t> picked;
  for (size_t round = 0; static_cast<int>(picked.size()) < count; ++round) {
    bool any = false;
    for (const auto& [domain, idx] : by_domain) {
      if (round < idx.size() && static_cast<int>(picked.size()) < count) {
        picked.push_back(idx[round]);
        any = true;
      }
    }
    if (!any) break;
  }
  return picked;
}

Result<DegeneracySummary> MeasureGenerations(const MaskedModel& m, const EvalPrompts& prompts,
                                             const std::vector<size_t>& picked, int prompt_tokens,
                                             int new_tokens, const Tokenizer* tokenizer) {
  DegeneracySummary sum;
  GenerateOptions g;
  g.max_new_tokens = new_tokens;
  g.mask = m.mask;  // greedy (temperature 0), no stop ids
  double d1 = 0, d2 = 0, d3 = 0;
  for (size_t i : picked) {
    const auto& all = prompts.tokens[i];
    const size_t n = std::min(all.size(), static_cast<size_t>(std::max(1, prompt_tokens)));
    ASSIGN_OR_RETURN(GenerateResult r,
                     Generate(*m.model, std::span<const int32_t>(all.data(), n), g));
    GenerationSample s{prompts.ids[i],
                       tokenizer ? unicode::Utf8Lossy(tokenizer->Decode(r.tokens)) : "",
                       MeasureDegeneracy(r.tokens)};
    d1 += s.stats.distinct_1;
    d2 += s.stats.distinct_2;
    d3 += s.stats.distinct_3;
    sum.worst_distinct_2 = std::min(sum.worst_distinct_2, s.stats.distinct_2);
    sum.longest_repeated_ngram =
        std::max(sum.longest_repeated_ngram, s.stats.longest_repeated_ngram);
    sum.samples.push_back(std::move(s));
  }
  if (!sum.samples.empty()) {
    const double k = static_cast<double>(sum.samples.size());
    sum.distinct_1 = d1 / k;
    sum.distinct_2 = d2 / k;
    sum.distinct_3 = d3 / k;
  }
  return sum;
}

}  // namespace moedist
