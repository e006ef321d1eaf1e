// The measurements `validate` takes of one model (release_validate.h): teacher-forced scores of
// the eval prompts, optionally checked logit for logit against a second model, and greedy
// generations measured for degeneracy. Sequences run one at a time from position 0, so two
// models given the same prompts see exactly the same computation order.
// Thread safety: as runtime-min (one Forward at a time per process).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/calibration_suite.h"
#include "pipeline/validation_report.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/model.h"
#include "runtime-min/tokenizer.h"

namespace moedist {

// The eval suite as token ids, in suite order, each cut to at most `max_tokens`.
struct EvalPrompts {
  std::vector<std::string> ids;      // prompt ids
  std::vector<std::string> domains;  // [prompt]
  std::vector<std::vector<int32_t>> tokens;
};

// Text prompts go through `tokenizer` (null: refused, naming the first text prompt); "ids"
// prompts are taken as they are. `bos` >= 0 is put first of every text prompt. A prompt with
// fewer than 2 tokens scores nothing and is refused.
Result<EvalPrompts> TokenizeEvalPrompts(const CalibrationSuite& suite, const Tokenizer* tokenizer,
                                        int max_tokens, int32_t bos);

// A model with the mask it runs under (null: every expert).
struct MaskedModel {
  const Model* model = nullptr;
  const ExpertMask* mask = nullptr;
};

struct LogitComparison {
  bool equal = true;
  double max_abs_diff = 0;       // NaN against a number counts as infinite
  std::string first_difference;  // "prompt py-001, position 3, vocab 17: a vs b"
};

// Mean log-probabilities of `m` overall, per domain and per prompt. With `reference`, the same
// prompts also run through it and every logit is compared bit for bit into `comparison`.
Result<QualityStats> ScoreEvalPrompts(const MaskedModel& m, const EvalPrompts& prompts,
                                      const MaskedModel* reference, LogitComparison* comparison);

// Prompts for greedy samples: the first prompt of each domain, then the second of each, ...
// (suite order within a domain), `count` in all (fewer if the suite is smaller).
std::vector<size_t> PickGenerationPrompts(const EvalPrompts& prompts, int count);

// Greedy generations of `new_tokens` tokens (end-of-sequence ids ignored, so every sample has
// the same length) from the first `prompt_tokens` tokens of each picked prompt.
Result<DegeneracySummary> MeasureGenerations(const MaskedModel& m, const EvalPrompts& prompts,
                                             const std::vector<size_t>& picked, int prompt_tokens,
                                             int new_tokens, const Tokenizer* tokenizer);

}  // namespace moedist
