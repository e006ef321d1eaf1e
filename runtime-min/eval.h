// Teacher-forced evaluation: the mean log-probability the model gives each next token.
//
// Every sequence runs from position 0 (causal, no padding). For a sequence t_0..t_{S-1} the
// scored tokens are t_1..t_{S-1}, each by log_softmax(logits at the previous position); the
// result sums over all sequences. perplexity = exp(-mean log-prob).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/status.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/model.h"
#include "runtime-min/routing_observer.h"

namespace moedist {

struct EvalResult {
  double total_logprob = 0;   // Σ log p(t_{s+1} | t_0..t_s), natural log
  int64_t num_predicted = 0;  // tokens scored
  int64_t num_tokens = 0;     // tokens run
  double mean_logprob() const;
  double perplexity() const;
};

// log_softmax(logits)[target], in double.
double TokenLogProb(const float* logits, int vocab, int target);
// Adds the scores of `tokens` given their logits [S, V] (row s predicts tokens[s + 1]).
void ScoreSequence(std::span<const int32_t> tokens, const float* logits, int vocab,
                   EvalResult& result);

struct EvalOptions {
  const ExpertMask* mask = nullptr;
  RoutingObserver* observer = nullptr;
  // Called with each sequence's index and logits [S, V] (e.g. to keep them for --logits-out).
  std::function<void(size_t, std::span<const float>)> on_logits;
};

Result<EvalResult> EvaluateSequences(const Model& model,
                                     const std::vector<std::vector<int32_t>>& sequences,
                                     const EvalOptions& options);

}  // namespace moedist
