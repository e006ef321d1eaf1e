#include "runtime-min/sampler.h"

#include <algorithm>
#include <cmath>

namespace moedist {

int32_t Sampler::Sample(const float* logits, int vocab) {
  const int32_t best = static_cast<int32_t>(std::max_element(logits, logits + vocab) - logits);
  if (opt_.temperature <= 0.0f) return best;
  probs_.resize(vocab);
  double sum = 0;
  for (int i = 0; i < vocab; ++i) {
    const float p = std::exp((logits[i] - logits[best]) / opt_.temperature);
    probs_[i] = {p, i};
    sum += p;
  }
  // Most probable first (ties to the lower id) so the nucleus is a prefix.
  std::sort(probs_.begin(), probs_.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  size_t keep = probs_.size();
  if (opt_.top_p < 1.0f) {
    double cum = 0;
    for (size_t i = 0; i < probs_.size(); ++i) {
      cum += probs_[i].first / sum;
      if (cum >= opt_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double kept = 0;
  for (size_t i = 0; i < keep; ++i) kept += probs_[i].first;
  double r = Uniform() * kept;
  for (size_t i = 0; i < keep; ++i) {
    r -= probs_[i].first;
    if (r < 0) return probs_[i].second;
  }
  return probs_[keep - 1].second;
}

}  // namespace moedist
