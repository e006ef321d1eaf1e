#include "pipeline/router_group_plan.h"

#include <fmt/ranges.h>

#include <algorithm>

namespace moedist {
namespace {

template <typename T>
std::vector<T> SumBlocks(const std::vector<T>& per_expert, int rows, int experts, int size) {
  const int units = experts / size;
  std::vector<T> out(static_cast<size_t>(rows) * units, T{});
  for (int r = 0; r < rows; ++r) {
    for (int e = 0; e < experts; ++e) {
      out[static_cast<size_t>(r) * units + e / size] +=
          per_expert[static_cast<size_t>(r) * experts + e];
    }
  }
  return out;
}

}  // namespace

GateProfile RouterGroupProfile(const GateProfile& p) {
  const int E = p.num_experts, R = p.router_groups, s = E / R;
  GateProfile u = p;
  u.num_experts = R;
  u.topm = p.topm;  // entries keep their order; ids become group ids (repeats allowed)
  for (auto& [layer, bytes] : u.expert_bytes) bytes = SumBlocks(bytes, 1, E, s);
  for (LayerGateProfile& l : u.layers) {
    l.selection_count = SumBlocks(l.selection_count, 1, E, s);
    l.gate_mass = SumBlocks(l.gate_mass, 1, E, s);
    l.routed_weight = SumBlocks(l.routed_weight, 1, E, s);
    for (auto& [domain, mass] : l.domain_mass) mass = SumBlocks(mass, 1, E, s);
    if (!l.prompt_mass.empty()) {
      l.prompt_mass = SumBlocks(l.prompt_mass, static_cast<int>(p.prompts.size()), E, s);
    }
    if (!l.coactivation.empty()) {
      std::vector<uint32_t> co(static_cast<size_t>(R) * R, 0);
      for (int a = 0; a < E; ++a) {
        for (int b = 0; b < E; ++b) {
          if (a / s != b / s) co[(a / s) * R + b / s] += l.coactivation[size_t(a) * E + b];
        }
      }
      l.coactivation = std::move(co);
    }
    for (uint16_t& id : l.topm_experts) id = static_cast<uint16_t>(id / s);
  }
  return u;
}

ExpertPlan ExpandRouterGroupPlan(const ExpertPlan& plan, const GateProfile& p) {
  const int s = p.num_experts / p.router_groups;
  auto expand = [s](const std::vector<int>& units) {
    std::vector<int> out;
    for (int u : units) {
      for (int e = u * s; e < (u + 1) * s; ++e) out.push_back(e);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  ExpertPlan out = plan;
  out.num_experts = p.num_experts;
  for (auto& [layer, lp] : out.layers) {
    for (auto& group : lp.groups) group = expand(group);
    lp.overlay = expand(lp.overlay);
  }
  return out;
}

Result<int> RouterGroupOverlay(const GateProfile& p, int overlay_experts, int nodes) {
  const int R = p.router_groups, s = p.num_experts / R;
  if (overlay_experts % s != 0) {
    return Status::InvalidArgument(
        "overlay of {} experts: the router keeps whole groups of {} experts ({} groups, {} used "
        "per token), so nodes hold whole groups and the overlay must be a multiple of {} (or "
        "give --split-router-groups: nodes then hold parts of groups and need the full router "
        "and a mask, with no node GGUF)",
        overlay_experts, s, R, p.router_groups_used, s);
  }
  const int units = overlay_experts / s;
  if (units >= R || (R - units) % nodes != 0) {
    std::vector<int> fits;
    for (int g = 1; g <= R - units; ++g) {
      if ((R - units) % g == 0) fits.push_back(g);
    }
    return Status::InvalidArgument(
        "{} nodes cannot hold equal shares of the {} router groups left after an overlay of {} "
        "(groups of {} experts); node counts that can: {} (or give --split-router-groups)",
        nodes, R - units, units, s, fmt::join(fits, ", "));
  }
  return units;
}

}  // namespace moedist
