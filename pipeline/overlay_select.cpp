#include "pipeline/overlay_select.h"

#include <algorithm>
#include <numeric>

namespace moedist {

std::vector<double> OverlayScores(const LayerGateProfile& layer, int E) {
  std::vector<double> score(E, 0.0);
  if (layer.domain_mass.empty()) return score;
  // Shares within each domain, then the harmonic mean across domains; the epsilon keeps an
  // expert never used in one domain finite but near zero.
  constexpr double kEps = 1e-9;
  std::vector<double> inv_sum(E, 0.0);
  int domains = 0;
  for (const auto& [name, mass] : layer.domain_mass) {
    const double total = std::accumulate(mass.begin(), mass.end(), 0.0);
    if (!(total > 0)) continue;
    ++domains;
    for (int e = 0; e < E; ++e) inv_sum[e] += 1.0 / (mass[e] / total + kEps);
  }
  for (int e = 0; e < E; ++e) score[e] = domains ? domains / inv_sum[e] : 0.0;
  return score;
}

std::vector<int> SelectOverlay(const LayerGateProfile& layer, int E, int count) {
  std::vector<double> score = OverlayScores(layer, E);
  std::vector<int> order(E);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return score[a] > score[b] || (score[a] == score[b] && layer.gate_mass[a] > layer.gate_mass[b]);
  });
  std::vector<int> out(order.begin(), order.begin() + std::clamp(count, 0, E));
  std::sort(out.begin(), out.end());
  return out;
}

int OverlayCountForBudget(uint64_t budget, const std::vector<std::vector<uint64_t>>& expert_bytes) {
  uint64_t per_expert_all_layers = 0;  // one expert slot in every layer, at the largest size
  size_t E = 0;
  for (const auto& layer : expert_bytes) {
    if (layer.empty()) continue;
    per_expert_all_layers += *std::max_element(layer.begin(), layer.end());
    E = std::max(E, layer.size());
  }
  if (per_expert_all_layers == 0) return 0;
  return static_cast<int>(std::min<uint64_t>(budget / per_expert_all_layers, E));
}

}  // namespace moedist
