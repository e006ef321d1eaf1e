// Partition strategies: how the non-overlay experts of each MoE layer are split into G groups
// of equal size (equal bytes, since the experts of one layer share one shape).
//   contiguous  experts in id order, cut into G runs
//   modulo      expert i to group i mod G
//   snake       by gate mass, dealt 0..G-1, G-1..0, … (spreads hot experts)
//   placement   maximises the mean over calibration prompts of the captured mass when each
//               prompt is placed on its best group (docs/algorithms.md): alternate between
//               assigning prompts to groups and, per layer, assigning experts to groups to
//               maximise the mass of the prompts each group serves; several starts, the best by
//               the exact captured top-k mass is kept.
#pragma once

#include <vector>

#include "core/status.h"
#include "pipeline/expert_plan.h"
#include "pipeline/gate_profile.h"

namespace moedist {

// `overlay[layer]` is excluded from the groups. Layers absent from the profile get contiguous
// groups and are marked unprofiled.
ExpertPlan ContiguousPlan(const GateProfile& p, int groups, const std::map<int, std::vector<int>>& overlay);
ExpertPlan ModuloPlan(const GateProfile& p, int groups, const std::map<int, std::vector<int>>& overlay);
ExpertPlan SnakePlan(const GateProfile& p, int groups, const std::map<int, std::vector<int>>& overlay);

struct PlacementOptions {
  int restarts = 4;
  int max_iterations = 30;
  uint64_t seed = 1;
};
ExpertPlan PlacementPlan(const GateProfile& p, int groups,
                         const std::map<int, std::vector<int>>& overlay,
                         const PlacementOptions& options = {});

}  // namespace moedist
