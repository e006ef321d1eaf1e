#include "runtime-min/eval.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime-min/forward.h"

namespace moedist {

double EvalResult::mean_logprob() const {
  return num_predicted ? total_logprob / static_cast<double>(num_predicted)
                       : std::numeric_limits<double>::quiet_NaN();
}

double EvalResult::perplexity() const { return std::exp(-mean_logprob()); }

double TokenLogProb(const float* logits, int vocab, int target) {
  const float mx = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
  return static_cast<double>(logits[target]) - mx - std::log(sum);
}

void ScoreSequence(std::span<const int32_t> tokens, const float* logits, int vocab,
                   EvalResult& result) {
  for (size_t s = 0; s + 1 < tokens.size(); ++s) {
    result.total_logprob += TokenLogProb(logits + s * vocab, vocab, tokens[s + 1]);
    ++result.num_predicted;
  }
  result.num_tokens += static_cast<int64_t>(tokens.size());
}

Result<EvalResult> EvaluateSequences(const Model& model,
                                     const std::vector<std::vector<int32_t>>& sequences,
                                     const EvalOptions& options) {
  EvalResult result;
  Sequence seq(model);
  std::vector<float> logits;
  for (size_t b = 0; b < sequences.size(); ++b) {
    if (sequences[b].empty()) return Status::InvalidArgument("sequence {} is empty", b);
    seq.Reset();
    ForwardOptions fo;
    fo.mask = options.mask;
    fo.observer = options.observer;
    Status st = Forward(model, seq, sequences[b], fo, &logits);
    if (!st.ok()) return st.WithContext(fmt::format("sequence {}", b));
    ScoreSequence(sequences[b], logits.data(), model.config().vocab_size, result);
    if (options.on_logits) options.on_logits(b, logits);
  }
  return result;
}

}  // namespace moedist
