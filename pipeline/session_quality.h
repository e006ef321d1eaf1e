// Session quality: what a user of a split release experiences, from per-prompt teacher-forced
// scores. A session is pinned to one node, so three figures matter, each a token-weighted mean
// of Δ = node log-probability − full model log-probability (nats/token, negative = worse):
//   worst node  the lowest, over nodes, of a node's Δ when it serves every prompt (a session
//               that lands there regardless of its content: overflow, a node down);
//   placed      each prompt scored on the node `moedist place` picks from its first tokens;
//   oracle      each prompt on the node that scores it best (what a perfect placer would get).
// `validate` reports them over the eval suite, `plan --node-bytes` over the calibration suite.
//
// Placement here is the one `place` performs: the full model runs the first `tokens` tokens of
// the prompt unmasked and each node is scored by the captured top-k mass its experts offer
// (prompt_placement.h), so these figures measure the placer people deploy, not an idealised one.
// Thread safety: plain functions; the probe runs one forward pass at a time.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/expert_plan.h"
#include "pipeline/gate_profile.h"
#include "runtime-min/model.h"

namespace moedist {

struct SessionQuality {
  std::vector<double> node_delta;  // [node] Δ over every prompt
  double worst_node = 0;           // min of node_delta
  int worst_node_index = 0;
  double placed = 0;
  double oracle = 0;
  std::vector<int> placed_node;       // [prompt] the node `place` picks
  std::vector<int> prompts_per_node;  // [node] how many prompts the placer sends there
  double placed_best_share = 0;       // share of prompts whose placed node is also their best
};

// `weights[p]`: tokens scored in prompt p; `full[p]` and `nodes[g][p]`: mean log-probability per
// token. `placed_node` is empty (every prompt placed on node 0) or one node per prompt.
// InvalidArgument when sizes disagree or no token is scored.
Result<SessionQuality> SummariseSessions(const std::vector<double>& weights,
                                         const std::vector<double>& full,
                                         const std::vector<std::vector<double>>& nodes,
                                         std::vector<int> placed_node);

// {"worst_node", "worst_node_index", "placed", "oracle", "node_delta", "prompts_per_node",
//  "placed_best_share"}.
nlohmann::json SessionQualityToJson(const SessionQuality& q);

// The placer's view of each prompt: the full model's unmasked routing over the first `tokens`
// tokens, recorded for every MoE layer (a GateProfile with one entry per prompt).
Result<GateProfile> ProbePlacementRouting(const Model& full,
                                          const std::vector<std::vector<int32_t>>& prompts,
                                          int tokens);

// [prompt] the node `place` would choose under `plan` (ties to the lower node, as `place`).
std::vector<int> PlaceProbedPrompts(const GateProfile& probe, const ExpertPlan& plan);

}  // namespace moedist
