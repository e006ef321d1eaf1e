#include "pipeline/planner.h"

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "pipeline/overlay_select.h"
#include "pipeline/partition_search.h"
#include "pipeline/router_group_plan.h"

namespace moedist {
namespace {

Result<std::map<int, std::vector<int>>> ChooseOverlay(const GateProfile& p, const PlanOptions& o,
                                                      std::vector<std::string>& warnings) {
  int count = o.overlay >= 0 ? o.overlay : 0;
  if (o.overlay < 0 && o.overlay_bytes > 0) {
    std::vector<std::vector<uint64_t>> sizes;
    for (int l : p.moe_layers) {
      auto it = p.expert_bytes.find(l);
      if (it != p.expert_bytes.end()) sizes.push_back(it->second);
    }
    count = OverlayCountForBudget(o.overlay_bytes, sizes);
  }
  const int per_group = (p.num_experts - count) / o.groups;
  if (count > 0 && count >= per_group) {
    return Status::InvalidArgument(
        "overlay of {} experts per layer is not smaller than a group "
        "({} experts with {} groups)",
        count, per_group, o.groups);
  }
  std::map<int, std::vector<int>> overlay;
  for (int l : p.moe_layers) {
    const LayerGateProfile* lp = p.FindLayer(l);
    if (lp == nullptr) {
      if (count > 0) {
        warnings.push_back(
            fmt::format("layer {} was not profiled: no overlay and contiguous "
                        "groups there (profile with --layers all to plan it)",
                        l));
      }
      continue;
    }
    overlay[l] = SelectOverlay(*lp, p.num_experts, count);
  }
  return overlay;
}

Result<ExpertPlan> CustomPlan(const GateProfile& p, const PlanOptions& o) {
  if (o.assign_path.empty()) {
    return Status::InvalidArgument("--strategy custom needs --assign FILE");
  }
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(o.assign_path, 64ull << 20));
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(text, o.assign_path));
  ASSIGN_OR_RETURN(ExpertPlan plan,
                   PlanFromAssignmentJson(j, p.moe_layers, p.num_experts, p.top_k, o.assign_path));
  if (plan.num_groups != o.groups) {
    return Status::InvalidArgument("{}: {} groups but --groups {}", o.assign_path, plan.num_groups,
                                   o.groups);
  }
  plan.strategy = "custom";
  for (auto& [layer, lp] : plan.layers) lp.profiled = p.FindLayer(layer) != nullptr;
  return plan;
}

nlohmann::json SummaryToJson(const CaptureSummary& s) {
  return {{"mean", s.mean},
          {"p10", s.p10},
          {"min", s.min},
          {"by_domain", s.by_domain},
          {"prompts_per_group", s.prompts_per_group},
          {"node_mean_all", s.group_mean_all},
          {"worst_node_all", s.worst_group_all}};
}

}  // namespace

Result<PlanResult> MakePlan(const GateProfile& p, const std::string& profile_path,
                            const PlanOptions& o) {
  if (o.groups < 1) return Status::InvalidArgument("--groups must be at least 1");
  if (o.groups > p.num_experts) {
    return Status::InvalidArgument("--groups {} exceeds the {} experts per layer", o.groups,
                                   p.num_experts);
  }
  if (p.layers.empty()) {
    return Status::InvalidArgument("{}: the profile holds no MoE layer statistics", profile_path);
  }
  PlanResult result;
  result.min_experts = o.min_experts >= 0 ? o.min_experts : 4 * p.top_k;
  // Grouped routers: plan router groups as units, then expand (router_group_plan.h).
  const bool by_router_group =
      p.router_groups > 1 && !o.split_router_groups && o.strategy != "custom";
  std::optional<GateProfile> units;
  PlanOptions uo = o;
  if (by_router_group) {
    // A count of experts becomes whole groups; a byte budget buys groups on the grouped profile
    // and is checked once chosen.
    if (o.overlay >= 0) {
      ASSIGN_OR_RETURN(uo.overlay, RouterGroupOverlay(p, o.overlay, o.groups));
    }
    units = RouterGroupProfile(p);
  }
  const GateProfile& planning = units ? *units : p;
  ASSIGN_OR_RETURN(auto overlay, ChooseOverlay(planning, uo, result.warnings));
  if (by_router_group && o.overlay < 0) {
    const int chosen = overlay.empty() ? 0 : static_cast<int>(overlay.begin()->second.size());
    RETURN_IF_ERROR(
        RouterGroupOverlay(p, chosen * (p.num_experts / p.router_groups), o.groups).status());
  }

  std::optional<GateProfile> heldout;
  if (!o.eval_profile_path.empty()) {
    ASSIGN_OR_RETURN(heldout, ReadGateProfile(o.eval_profile_path));
    if (heldout->num_experts != p.num_experts || heldout->family != p.family) {
      return Status::InvalidArgument("{}: profile of another model ({} with {} experts)",
                                     o.eval_profile_path, heldout->family, heldout->num_experts);
    }
  }
  std::map<std::string, ExpertPlan> plans = {
      {"contiguous", ContiguousPlan(planning, o.groups, overlay)},
      {"modulo", ModuloPlan(planning, o.groups, overlay)},
      {"snake", SnakePlan(planning, o.groups, overlay)},
      {"placement", PlacementPlan(planning, o.groups, overlay, o.placement)},
  };
  if (units) {
    for (auto& [name, plan] : plans) plan = ExpandRouterGroupPlan(plan, p);
  }
  if (o.strategy == "custom") {
    ASSIGN_OR_RETURN(plans["custom"], CustomPlan(p, o));
  } else if (!plans.count(o.strategy)) {
    return Status::InvalidArgument(
        "unknown --strategy \"{}\" (contiguous, modulo, snake, "
        "placement, custom)",
        o.strategy);
  }
  for (const auto& [name, plan] : plans) {
    StrategyReport r{SummariseCapture(p, plan)};
    if (heldout) r.heldout = SummariseCapture(*heldout, plan);
    result.comparison[name] = r;
  }
  result.plan = plans.at(o.strategy);
  RETURN_IF_ERROR(CheckPlan(result.plan, result.min_experts, o.force));
  return result;
}

nlohmann::json PlanResultToJson(const PlanResult& r, const GateProfile& p,
                                const std::string& profile_path, const PlanOptions& o) {
  nlohmann::json j;
  j["schema_version"] = 1;
  j["family"] = p.family;
  j["num_experts"] = p.num_experts;
  j["top_k"] = p.top_k;
  j["groups"] = r.plan.num_groups;
  j["strategy"] = r.plan.strategy;
  j["profile"] = {{"path", profile_path},
                  {"suite_sha256", p.suite_sha256},
                  {"prompts", p.prompts.size()},
                  {"tokens", p.tokens}};
  j["viability"] = {{"min_experts", r.min_experts}, {"forced", o.force}};
  j["layers"] = PlanLayersToJson(r.plan);
  nlohmann::json cmp = nlohmann::json::object();
  for (const auto& [name, rep] : r.comparison) {
    cmp[name]["planning"] = SummaryToJson(rep.planning);
    if (rep.heldout) cmp[name]["heldout"] = SummaryToJson(*rep.heldout);
  }
  j["comparison"] = cmp;
  // Bytes one node holds: trunk + its group and the overlay in every layer.
  nlohmann::json nodes = nlohmann::json::array();
  for (int g = 0; g < r.plan.num_groups; ++g) {
    uint64_t bytes = p.trunk_bytes;
    for (const auto& [layer, lp] : r.plan.layers) {
      auto it = p.expert_bytes.find(layer);
      if (it == p.expert_bytes.end()) continue;
      for (int e : r.plan.NodeExperts(layer, g)) bytes += it->second[e];
    }
    nodes.push_back({{"node", g}, {"bytes", bytes}});
  }
  j["nodes"] = nodes;
  j["warnings"] = r.warnings;
  return j;
}

}  // namespace moedist
