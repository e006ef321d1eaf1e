// Partition strategies: how the non-overlay experts of each MoE layer are split into G groups
// of equal size (equal bytes, since the experts of one layer share one shape).
//   contiguous  experts in id order, cut into G runs
//   modulo      expert i to group i mod G
//   snake       by gate mass, dealt 0..G-1, G-1..0, … (spreads hot experts)
//   placement   maximises, over the calibration prompts, (1 − w) · the mean captured mass of
//               sessions placed on their best node + w · the captured mass of the worst node
//               serving every prompt (docs/algorithms.md). The first term is the runtime policy's
//               (a session stays on the node that captures most of its routing); the second
//               keeps any node from becoming a specialist that fails everything else. Search:
//               alternate between assigning prompts to groups (with and without a load cap)
//               and, per layer, assigning experts to groups for the prompts each group serves;
//               several starts; then pairwise expert swaps on the exact score from the best
//               result and from the contiguous, modulo and snake layouts. The best-scoring plan
//               is kept, so it never scores below a baseline on the calibration prompts.
#pragma once

#include <vector>

#include "core/status.h"
#include "pipeline/expert_plan.h"
#include "pipeline/gate_profile.h"

namespace moedist {

// `overlay[layer]` is excluded from the groups. Layers absent from the profile get contiguous
// groups and are marked unprofiled.
ExpertPlan ContiguousPlan(const GateProfile& p, int groups,
                          const std::map<int, std::vector<int>>& overlay);
ExpertPlan ModuloPlan(const GateProfile& p, int groups,
                      const std::map<int, std::vector<int>>& overlay);
ExpertPlan SnakePlan(const GateProfile& p, int groups,
                     const std::map<int, std::vector<int>>& overlay);

struct PlacementOptions {
  int restarts = 4;
  int max_iterations = 30;
  uint64_t seed = 1;
  // Load cap while searching: no group is optimised for more than (1 + balance) · P / G of the
  // P calibration prompts. Negative: only unconstrained searches.
  double balance = 0.25;
  // w above. 0: placed sessions only (the specialist layout that loses most for sessions that
  // land on another node); 1: the worst node only.
  double worst_node_weight = 0.5;
  // Swaps tried per seed, shared by the layers (each costs one pass over a layer's profiled
  // tokens); 0: no swap search.
  int swap_budget = 20000;
};
ExpertPlan PlacementPlan(const GateProfile& p, int groups,
                         const std::map<int, std::vector<int>>& overlay,
                         const PlacementOptions& options = {});

}  // namespace moedist
