// Captured mass: how much of the full model's routing a node can still serve.
//
// For one token and an allowed expert set A, the captured top-k mass is the sum of the k largest
// normalised router probabilities among experts in A, divided by the sum of the k largest over
// all experts (1.0 = the node serves this token as the full model would). It is computed from
// the profile's per-token top-m samples; experts beyond the m-th are ignored, which makes the
// figure a lower bound that is exact whenever A's top-k lies within the token's top-m.
// A prompt's captured mass on node g is the mean over its tokens and the profiled layers; the
// runtime policy places each prompt on the node where this is highest.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pipeline/expert_plan.h"
#include "pipeline/gate_profile.h"

namespace moedist {

// [prompt][group] captured fraction, over the profiled layers present in `plan`.
std::vector<std::vector<double>> CapturedMassByPrompt(const GateProfile& profile,
                                                      const ExpertPlan& plan);

// Owner of each of `num_experts` experts under `layer_plan`: its group, -1 for the overlay, -2
// for none (the `node_of` of TokenCapturedMass).
std::vector<int> ExpertOwners(const LayerPlan& layer_plan, int num_experts, int groups);

// One token's captured top-k mass per group: `got[g]` (G entries; `taken` is scratch of G) for
// the owner of each expert in `node_of` (a group, -1 for the overlay: every group, -2 held by
// none), from the token's top-m `ids` / `probs`. Returns the token's full top-k mass, the
// denominator (0: the token carries no mass and `got` is meaningless).
double TokenCapturedMass(const uint16_t* ids, const float* probs, int m, int k, const int* node_of,
                         int G, int* taken, double* got);

// One layer's term: [prompt * G + group] mean over the prompt's tokens of the captured fraction.
// CapturedMassByPrompt averages these over the layers.
std::vector<double> LayerCapturedMass(const GateProfile& profile, const LayerGateProfile& layer,
                                      const LayerPlan& layer_plan, int groups);

struct CaptureSummary {
  double mean = 0, p10 = 0, min = 0;
  std::map<std::string, double> by_domain;  // mean per domain
  std::vector<int> prompts_per_group;       // how many prompts each node would serve
  // Each node serving every prompt (a session that lands there regardless of its content:
  // overflow, a node down): the mean captured mass per node, and the worst node's.
  std::vector<double> group_mean_all;
  double worst_group_all = 0;
};

// Places every prompt on its best group and summarises the captured mass it gets; also each
// node's mean over all prompts.
CaptureSummary SummariseCapture(const GateProfile& profile, const ExpertPlan& plan);
// The same from CapturedMassByPrompt's table.
CaptureSummary SummariseByPrompt(const GateProfile& profile,
                                 const std::vector<std::vector<double>>& by_prompt, int groups);

}  // namespace moedist
