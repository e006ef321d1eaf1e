#include "planted_profile_testutil.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "pipeline/profile_accumulator.h"

namespace moedist::testing_util {

GateProfile MakePlantedProfile(const PlantedSpec& s) {
  GateProfile p;
  p.family = "qwen3_moe";
  p.scoring = "softmax";
  p.num_layers = static_cast<int>(s.layers.size());
  p.num_experts = s.experts;
  p.top_k = s.top_k;
  p.topm = std::min(s.experts, 4 * s.top_k);
  p.moe_layers = s.layers;
  p.trunk_bytes = 1000;
  for (int l : s.layers) p.expert_bytes[l] = std::vector<uint64_t>(s.experts, 100);
  ProfileAccumulator acc(&p, std::set<int>(s.layers.begin(), s.layers.end()));
  uint64_t rng = s.seed * 0x9E3779B97F4A7C15ull + 12345;
  auto uniform = [&rng] {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return static_cast<double>(rng >> 11) / 9007199254740992.0;
  };
  const int E = s.experts, T = s.tokens_per_prompt;
  std::vector<float> probs(static_cast<size_t>(T) * E);
  std::vector<int32_t> chosen(static_cast<size_t>(T) * s.top_k);
  std::vector<float> weights(static_cast<size_t>(T) * s.top_k);
  for (int d = 0; d < s.domains; ++d) {
    for (int i = 0; i < s.prompts_per_domain; ++i) {
      acc.BeginPrompt("d" + std::to_string(d) + "-" + std::to_string(i),
                      "domain" + std::to_string(d), T);
      for (int layer : s.layers) {
        for (int t = 0; t < T; ++t) {
          float* row = probs.data() + static_cast<size_t>(t) * E;
          double sum = 0;
          for (int e = 0; e < E; ++e) {
            double base = e == kGeneralist ? s.generalist_share * 40
                          : (e % s.domains == (d + layer) % s.domains) ? s.cluster_share * 4
                                                                        : (1 - s.cluster_share);
            row[e] = static_cast<float>(base * (0.2 + uniform()));
            sum += row[e];
          }
          for (int e = 0; e < E; ++e) row[e] = static_cast<float>(row[e] / sum);
          std::vector<int> order(E);
          std::iota(order.begin(), order.end(), 0);
          std::partial_sort(order.begin(), order.begin() + s.top_k, order.end(),
                            [&](int a, int b) { return row[a] > row[b]; });
          for (int k = 0; k < s.top_k; ++k) {
            chosen[static_cast<size_t>(t) * s.top_k + k] = order[k];
            weights[static_cast<size_t>(t) * s.top_k + k] = row[order[k]];
          }
        }
        RoutingBatch b;
        b.layer = layer;
        b.first_position = 0;
        b.num_tokens = T;
        b.num_experts = E;
        b.top_k = s.top_k;
        b.probs = probs.data();
        b.router_logits = probs.data();
        b.experts = chosen.data();
        b.weights = weights.data();
        acc.OnRouting(b);
      }
    }
  }
  return p;
}

}  // namespace moedist::testing_util
