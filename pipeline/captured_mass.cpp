#include "pipeline/captured_mass.h"

#include <algorithm>
#include <cmath>

namespace moedist {

std::vector<std::vector<double>> CapturedMassByPrompt(const GateProfile& p,
                                                      const ExpertPlan& plan) {
  const int G = plan.num_groups, E = p.num_experts, k = p.top_k, m = p.topm;
  const size_t P = p.prompts.size();
  std::vector<std::vector<double>> sum(P, std::vector<double>(G, 0.0));
  std::vector<int> layers_used(P, 0);
  std::vector<int> node_of(E);  // -1 overlay, else the group
  for (const LayerGateProfile& l : p.layers) {
    auto it = plan.layers.find(l.layer);
    if (it == plan.layers.end()) continue;
    std::fill(node_of.begin(), node_of.end(), -2);
    for (int e : it->second.overlay) node_of[e] = -1;
    for (int g = 0; g < G; ++g) {
      for (int e : it->second.groups[g]) node_of[e] = g;
    }
    std::vector<double> layer_sum(P * G, 0.0);
    std::vector<int> taken(G);
    std::vector<double> got(G);
    for (size_t t = 0; t < p.token_prompt.size(); ++t) {
      const uint16_t* ids = l.topm_experts.data() + t * m;
      const float* probs = l.topm_probs.data() + t * m;
      double full = 0;
      for (int i = 0; i < std::min(k, m); ++i) full += probs[i];
      if (!(full > 0)) continue;
      std::fill(taken.begin(), taken.end(), 0);
      std::fill(got.begin(), got.end(), 0.0);
      for (int i = 0; i < m; ++i) {
        const int owner = node_of[ids[i]];
        if (owner == -1) {  // overlay: every node has it
          for (int g = 0; g < G; ++g) {
            if (taken[g] < k) {
              got[g] += probs[i];
              ++taken[g];
            }
          }
        } else if (owner >= 0 && taken[owner] < k) {
          got[owner] += probs[i];
          ++taken[owner];
        }
      }
      double* row = layer_sum.data() + static_cast<size_t>(p.token_prompt[t]) * G;
      for (int g = 0; g < G; ++g) row[g] += got[g] / full;
    }
    for (size_t q = 0; q < P; ++q) {
      if (p.prompts[q].tokens == 0) continue;
      for (int g = 0; g < G; ++g) sum[q][g] += layer_sum[q * G + g] / p.prompts[q].tokens;
      layers_used[q] += 1;
    }
  }
  for (size_t q = 0; q < P; ++q) {
    for (double& v : sum[q]) v = layers_used[q] ? v / layers_used[q] : 0.0;
  }
  return sum;
}

CaptureSummary SummariseCapture(const GateProfile& p, const ExpertPlan& plan) {
  CaptureSummary s;
  s.prompts_per_group.assign(plan.num_groups, 0);
  auto by_prompt = CapturedMassByPrompt(p, plan);
  std::vector<double> best;
  std::map<std::string, std::pair<double, int>> domain;
  for (size_t q = 0; q < by_prompt.size(); ++q) {
    if (p.prompts[q].tokens == 0) continue;
    auto it = std::max_element(by_prompt[q].begin(), by_prompt[q].end());
    best.push_back(*it);
    s.prompts_per_group[it - by_prompt[q].begin()] += 1;
    auto& d = domain[p.prompts[q].domain];
    d.first += *it;
    d.second += 1;
  }
  if (best.empty()) return s;
  double total = 0;
  for (double v : best) total += v;
  s.mean = total / best.size();
  std::sort(best.begin(), best.end());
  s.min = best.front();
  s.p10 = best[static_cast<size_t>(std::floor(0.1 * (best.size() - 1)))];
  for (const auto& [name, d] : domain) s.by_domain[name] = d.first / d.second;
  return s;
}

}  // namespace moedist
