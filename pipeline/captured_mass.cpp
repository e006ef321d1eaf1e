#include "pipeline/captured_mass.h"

#include <algorithm>
#include <cmath>

namespace moedist {

std::vector<int> ExpertOwners(const LayerPlan& lp, int num_experts, int G) {
  std::vector<int> owner(num_experts, -2);
  for (int e : lp.overlay) owner[e] = -1;
  for (int g = 0; g < G; ++g) {
    for (int e : lp.groups[g]) owner[e] = g;
  }
  return owner;
}

double TokenCapturedMass(const uint16_t* ids, const float* probs, int m, int k, const int* node_of,
                         int G, int* taken, double* got) {
  double full = 0;
  for (int i = 0; i < std::min(k, m); ++i) full += probs[i];
  if (!(full > 0)) return 0;
  std::fill(taken, taken + G, 0);
  std::fill(got, got + G, 0.0);
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
  return full;
}

std::vector<double> LayerCapturedMass(const GateProfile& p, const LayerGateProfile& l,
                                      const LayerPlan& lp, int G) {
  const int E = p.num_experts, k = p.top_k, m = p.topm;
  const size_t P = p.prompts.size();
  const std::vector<int> node_of = ExpertOwners(lp, E, G);
  std::vector<double> layer_sum(P * G, 0.0);
  std::vector<int> taken(G);
  std::vector<double> got(G);
  for (size_t t = 0; t < p.token_prompt.size(); ++t) {
    const double full =
        TokenCapturedMass(l.topm_experts.data() + t * m, l.topm_probs.data() + t * m, m, k,
                          node_of.data(), G, taken.data(), got.data());
    if (!(full > 0)) continue;
    double* row = layer_sum.data() + static_cast<size_t>(p.token_prompt[t]) * G;
    for (int g = 0; g < G; ++g) row[g] += got[g] / full;
  }
  for (size_t q = 0; q < P; ++q) {
    for (int g = 0; g < G; ++g) {
      layer_sum[q * G + g] = p.prompts[q].tokens ? layer_sum[q * G + g] / p.prompts[q].tokens : 0;
    }
  }
  return layer_sum;
}

std::vector<std::vector<double>> CapturedMassByPrompt(const GateProfile& p,
                                                      const ExpertPlan& plan) {
  const int G = plan.num_groups;
  const size_t P = p.prompts.size();
  std::vector<std::vector<double>> sum(P, std::vector<double>(G, 0.0));
  int layers_used = 0;
  for (const LayerGateProfile& l : p.layers) {
    auto it = plan.layers.find(l.layer);
    if (it == plan.layers.end()) continue;
    const std::vector<double> layer = LayerCapturedMass(p, l, it->second, G);
    for (size_t q = 0; q < P; ++q) {
      for (int g = 0; g < G; ++g) sum[q][g] += layer[q * G + g];
    }
    layers_used += 1;
  }
  for (size_t q = 0; q < P; ++q) {
    for (double& v : sum[q]) v = layers_used ? v / layers_used : 0.0;
  }
  return sum;
}

CaptureSummary SummariseCapture(const GateProfile& p, const ExpertPlan& plan) {
  return SummariseByPrompt(p, CapturedMassByPrompt(p, plan), plan.num_groups);
}

CaptureSummary SummariseByPrompt(const GateProfile& p,
                                 const std::vector<std::vector<double>>& by_prompt, int groups) {
  CaptureSummary s;
  s.prompts_per_group.assign(groups, 0);
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
  s.group_mean_all.assign(groups, 0.0);
  for (size_t q = 0; q < by_prompt.size(); ++q) {
    if (p.prompts[q].tokens == 0) continue;
    for (int g = 0; g < groups; ++g) s.group_mean_all[g] += by_prompt[q][g] / best.size();
  }
  s.worst_group_all = *std::min_element(s.group_mean_all.begin(), s.group_mean_all.end());
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
