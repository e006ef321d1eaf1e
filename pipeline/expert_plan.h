// ExpertPlan: the partition of routed experts into node groups plus the replicated overlay, per
// MoE layer — what `plan` writes (plan.json, docs/formats/plan.md) and `pack`, `place` and
// `validate` read. Node g holds, in every MoE layer, groups[g] ∪ overlay.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace moedist {

// Plans come from profiles, whose top-m expert ids are u16 (gate_profile.h).
inline constexpr int kMaxPlanExperts = 65535;

struct LayerPlan {
  std::vector<std::vector<int>> groups;  // [G] sorted expert ids, disjoint
  std::vector<int> overlay;              // sorted; disjoint from every group
  bool profiled = true;                  // false: no statistics, partition is contiguous
};

struct ExpertPlan {
  int num_experts = 0;
  int top_k = 0;
  int num_groups = 0;
  std::string strategy;
  std::map<int, LayerPlan> layers;  // every MoE layer
  // Proxy experts fitted for this plan (plan.json "standins", standin_file.h): the file's path
  // as ReadPlanFile resolved it against plan.json's folder, and its kind; empty: none.
  std::string standins_file;
  std::string standins_kind;

  // Experts node `g` holds in `layer` (group ∪ overlay), sorted.
  std::vector<int> NodeExperts(int layer, int g) const;
  // Whether node `g` holds none of `experts` in `layer`: the rule for which proxy experts
  // (standin_file.h) a node gets, shared by pack and runtime-min's stand-ins.
  bool HoldsNone(int layer, int g, const std::vector<int>& experts) const;
};

// Checks that every layer's groups and overlay cover each expert exactly once, that there are
// `num_groups` groups, and viability: each group ∪ overlay has at least `min_experts` experts
// (refused unless `force`), naming the layer and group.
Status CheckPlan(const ExpertPlan& plan, int min_experts, bool force);

// The "layers" part of plan.json: {"<layer>": {"groups": [[...]], "overlay": [...]}}.
nlohmann::json PlanLayersToJson(const ExpertPlan& plan);
// Parses either {"groups": [[...]], "overlay": [...]} (same for every MoE layer) or
// {"layers": {"<layer>": {...}}} for `moe_layers`. `source` names the file in errors.
Result<ExpertPlan> PlanFromAssignmentJson(const nlohmann::json& j,
                                          const std::vector<int>& moe_layers, int num_experts,
                                          int top_k, const std::string& source);
Result<ExpertPlan> ReadPlanFile(const std::string& path);

}  // namespace moedist
