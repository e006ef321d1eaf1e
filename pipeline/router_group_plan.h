// Planning for a grouped top-k router (DeepSeek-V3: experts in `router_groups` contiguous
// blocks, `router_groups_used` of them kept per token). A node that holds whole router groups, the
// same number in every layer, routes under its mask exactly as a sliced router over those groups
// does, so pack can slice it and write a node GGUF (pipeline/node_bundle.h); a node holding part
// of a group needs the full router and a mask (no GGUF). As DeepSeek's hierarchical load
// balancer places expert groups on nodes, `plan` therefore partitions router groups, not experts,
// unless told otherwise (docs/algorithms.md "Grouped routers").
//
// The strategies run unchanged on a profile whose "experts" are the router groups: counts,
// masses and bytes summed over members, co-activation between groups, and each token's top-m
// list kept in order with ids mapped to their group. The captured mass of a node is the mass of
// the first top-k entries it holds (captured_mass.h), so for whole-group node sets the grouped
// profile gives the same figures as the expert-level one. The plan is then expanded back.
#pragma once

#include "core/status.h"
#include "pipeline/expert_plan.h"
#include "pipeline/gate_profile.h"

namespace moedist {

// The profile with router groups as its experts. Requires p.router_groups > 1.
GateProfile RouterGroupProfile(const GateProfile& p);

// `plan` over router groups → the same plan over experts (each group → its member ids).
ExpertPlan ExpandRouterGroupPlan(const ExpertPlan& plan, const GateProfile& p);

// The overlay in router groups for an overlay of `overlay_experts` experts per layer: it must be
// a whole number of router groups, and the groups left must split evenly over `nodes`, else
// InvalidArgument saying which values work.
Result<int> RouterGroupOverlay(const GateProfile& p, int overlay_experts, int nodes);

}  // namespace moedist
