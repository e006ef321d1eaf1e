#include "pipeline/session_quality.h"

#include <algorithm>
#include <set>

#include "pipeline/captured_mass.h"
#include "pipeline/profile_accumulator.h"
#include "runtime-min/forward.h"

namespace moedist {

Result<SessionQuality> SummariseSessions(const std::vector<double>& weights,
                                         const std::vector<double>& full,
                                         const std::vector<std::vector<double>>& nodes,
                                         std::vector<int> placed_node) {
  const size_t P = weights.size();
  if (full.size() != P) {
    return Status::InvalidArgument("{} prompt weights but {} full-model scores", P, full.size());
  }
  if (nodes.empty()) return Status::InvalidArgument("no node scores");
  for (size_t g = 0; g < nodes.size(); ++g) {
    if (nodes[g].size() != P) {
      return Status::InvalidArgument("node {}: {} prompt scores, expected {}", g, nodes[g].size(),
                                     P);
    }
  }
  if (placed_node.empty()) placed_node.assign(P, 0);
  if (placed_node.size() != P) {
    return Status::InvalidArgument("{} placements for {} prompts", placed_node.size(), P);
  }
  double total = 0;
  for (double w : weights) total += w;
  if (!(total > 0)) return Status::InvalidArgument("no token scored");

  const int G = static_cast<int>(nodes.size());
  SessionQuality q;
  q.node_delta.assign(G, 0);
  q.prompts_per_node.assign(G, 0);
  q.placed_node = placed_node;
  int placed_is_best = 0;
  for (size_t p = 0; p < P; ++p) {
    const int chosen = placed_node[p];
    if (chosen < 0 || chosen >= G) {
      return Status::InvalidArgument("prompt {} placed on node {} of {}", p, chosen, G);
    }
    const double w = weights[p] / total;
    int best = 0;
    for (int g = 0; g < G; ++g) {
      const double d = nodes[g][p] - full[p];
      q.node_delta[g] += w * d;
      if (nodes[g][p] > nodes[best][p]) best = g;
    }
    q.placed += w * (nodes[chosen][p] - full[p]);
    q.oracle += w * (nodes[best][p] - full[p]);
    ++q.prompts_per_node[chosen];
    if (nodes[chosen][p] >= nodes[best][p]) ++placed_is_best;
  }
  q.worst_node_index = static_cast<int>(std::min_element(q.node_delta.begin(), q.node_delta.end()) -
                                        q.node_delta.begin());
  q.worst_node = q.node_delta[q.worst_node_index];
  q.placed_best_share = P ? static_cast<double>(placed_is_best) / static_cast<double>(P) : 0;
  return q;
}

nlohmann::json SessionQualityToJson(const SessionQuality& q) {
  return {{"worst_node", q.worst_node},
          {"worst_node_index", q.worst_node_index},
          {"placed", q.placed},
          {"oracle", q.oracle},
          {"node_delta", q.node_delta},
          {"prompts_per_node", q.prompts_per_node},
          {"placed_best_share", q.placed_best_share}};
}

Result<GateProfile> ProbePlacementRouting(const Model& full,
                                          const std::vector<std::vector<int32_t>>& prompts,
                                          int tokens) {
  if (tokens < 1) return Status::InvalidArgument("placement probe needs at least 1 token");
  const ModelConfig& c = full.config();
  GateProfile p;
  p.num_experts = c.routing.num_experts;
  p.top_k = c.routing.top_k;
  p.topm = std::min(p.num_experts, 4 * p.top_k);
  p.moe_layers = c.MoeLayers();
  const std::vector<int> layers = c.MoeLayers();
  ProfileAccumulator acc(&p, std::set<int>(layers.begin(), layers.end()));
  for (size_t i = 0; i < prompts.size(); ++i) {
    const size_t n = std::min<size_t>(prompts[i].size(), static_cast<size_t>(tokens));
    if (n == 0) return Status::InvalidArgument("prompt {} has no tokens", i);
    acc.BeginPrompt(std::to_string(i), "probe", static_cast<uint32_t>(n));
    Sequence seq(full);
    ForwardOptions fo;
    fo.observer = &acc;
    fo.all_logits = false;
    RETURN_IF_ERROR(Forward(full, seq, std::span(prompts[i].data(), n), fo, nullptr));
    if (!acc.first_nonfinite().empty()) {
      return Status::Corruption("router scores are NaN or Inf at {}", acc.first_nonfinite());
    }
  }
  return p;
}

std::vector<int> PlaceProbedPrompts(const GateProfile& probe, const ExpertPlan& plan) {
  const std::vector<std::vector<double>> scores = CapturedMassByPrompt(probe, plan);
  std::vector<int> out;
  out.reserve(scores.size());
  for (const std::vector<double>& s : scores) {
    out.push_back(static_cast<int>(std::max_element(s.begin(), s.end()) - s.begin()));
  }
  return out;
}

}  // namespace moedist
