// Planner: `moedist plan` — reads a GateProfile, picks the overlay, partitions every MoE layer
// with the chosen strategy, checks viability, and compares every strategy side by side on the
// captured-mass objective (and on a held-out profile when one is given).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/status.h"
#include "pipeline/captured_mass.h"
#include "pipeline/expert_plan.h"
#include "pipeline/gate_profile.h"
#include "pipeline/partition_search.h"

namespace moedist {

struct PlanOptions {
  int groups = 2;
  int overlay = -1;                    // experts per layer; -1 = use overlay_bytes or 0
  uint64_t overlay_bytes = 0;          // budget over all MoE layers
  std::string strategy = "placement";  // contiguous|modulo|snake|placement|custom
  std::string assign_path;             // custom strategy
  int min_experts = -1;                // viability threshold; -1 = 4 × top-k
  bool force = false;
  std::string eval_profile_path;  // held-out prompts
  // Grouped top-k routers: partition experts one by one instead of keeping router groups whole
  // (router_group_plan.h); nodes then hold parts of groups and run in mask mode.
  bool split_router_groups = false;
  PlacementOptions placement;  // the placement search's knobs
};

struct StrategyReport {
  CaptureSummary planning;
  std::optional<CaptureSummary> heldout;
};

struct PlanResult {
  ExpertPlan plan;
  std::map<std::string, StrategyReport> comparison;  // every strategy, same overlay
  std::vector<std::string> warnings;
  int min_experts = 0;
};

Result<PlanResult> MakePlan(const GateProfile& profile, const std::string& profile_path,
                            const PlanOptions& options);

// plan.json (docs/formats/plan.md).
nlohmann::json PlanResultToJson(const PlanResult& result, const GateProfile& profile,
                                const std::string& profile_path, const PlanOptions& options);

}  // namespace moedist
