// Sampler: picks the next token from a logits row.
//
// temperature <= 0 is greedy (argmax, ties to the lower id). Otherwise softmax(logits / T),
// restricted to the nucleus (the most probable tokens whose cumulative probability first
// reaches top_p), renormalised and sampled. The random stream is std::mt19937_64 from `seed`
// mapped to [0, 1) by its top 53 bits, so a seed gives the same tokens on every platform.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace moedist {

struct SamplingOptions {
  float temperature = 0.0f;  // 0 = greedy
  float top_p = 1.0f;        // (0, 1]
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplingOptions options) : opt_(options), rng_(options.seed) {}
  int32_t Sample(const float* logits, int vocab);

 private:
  double Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  SamplingOptions opt_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> probs_;  // reused
};

}  // namespace moedist
