// Fitting stand-ins for the experts a node does not hold (runtime-min/expert_standins.h) from the
// full model's behaviour on the calibration suite (docs/algorithms.md, "Stand-ins for absent
// experts"):
//   constant       per expert, the mean of its output over the tokens that chose it, weighted by
//                  the square of its routing weight (the least-squares constant for w·E(x));
//   proxy-average  per group of the plan and MoE layer, one expert whose gate/up/down are the
//                  members' matrices averaged with their gate mass as weights (HC-SMoE-style
//                  merging);
//   proxy-fit      per group and layer, one expert built from the members' most important
//                  intermediate units (Σ over chosen tokens of weight × |unit activation| × the
//                  norm of its down column; as many units as an expert has), whose down
//                  projection is then fitted by ridge least squares so that, on the tokens that
//                  chose any member, it reproduces the members' routing-weighted mixed output.
// A proxy's router row is fitted by ridge least squares to the log-sum-exp of its members'
// router logits over every calibration token, so that a stock runtime's softmax gives it about
// the mass its members had; `exact_logit` uses the log-sum-exp itself (runtime-min only).
// A node g gets the constants of every expert it lacks, or every proxy whose members it lacks
// (those of the other groups).
// Softmax routers without grouped top-k only. Memory: the router inputs and logits of every
// recorded token of every MoE layer (tokens × (hidden + experts) floats per layer) plus one
// group's experts in f32: meant for example-sized suites, not bounded by the largest tensor.
// Thread safety: plain functions.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/expert_plan.h"
#include "runtime-min/expert_standins.h"
#include "runtime-min/model.h"

namespace moedist {

// The full model's routing on calibration prompts, per MoE layer.
struct StandInCalibration {
  struct Layer {
    std::vector<float> x;          // [T, H] router input (the normed block input)
    std::vector<float> logits;     // [T, E] raw router logits
    std::vector<int32_t> experts;  // [T, k] unmasked choice
    std::vector<float> weights;    // [T, k] their routing weights
  };
  int64_t tokens = 0;
  std::map<int, Layer> layers;
};

Result<StandInCalibration> RecordStandInCalibration(
    const Model& full, const std::vector<std::vector<int32_t>>& prompts);

enum class StandInKind { kConstant, kProxyAverage, kProxyFit };
const char* StandInKindName(StandInKind kind);
// The inverse of StandInKindName; InvalidArgument for other names.
Result<StandInKind> ParseStandInKindName(const std::string& name);

struct StandInOptions {
  StandInKind kind = StandInKind::kProxyFit;
  bool exact_logit = false;  // proxies: log-sum-exp of the members' logits instead of a row
  double ridge = 1e-3;       // λ relative to the mean diagonal of the normal matrix
  // Proxies: each group's experts split into this many clusters of experts the router scores
  // alike (proxy_clusters.h), one proxy each; 1: one proxy per group.
  int proxies_per_group = 1;
};

// Stand-ins fitted once for a plan; node g's are picked by NodeStandIns.
struct FittedStandIns {
  StandInOptions options;
  std::map<int, std::map<int, std::vector<float>>> constants;  // layer → expert → [H]
  // layer → proxies in group order (proxies_per_group per group, fewer for groups with fewer
  // experts); each one's members lie in one group.
  std::map<int, std::vector<ProxyExpert>> proxies;
};

// InvalidArgument for routers other than softmax without grouped top-k, or Llama-4's packed
// experts; FailedPrecondition when the calibration has no tokens. Members no calibration token
// chose are fitted on the tokens where their router logits come highest.
Result<FittedStandIns> FitStandIns(const Model& full, const ExpertPlan& plan,
                                   const StandInCalibration& calibration,
                                   const StandInOptions& options);

// What node `node` computes for the experts it lacks in each MoE layer.
std::shared_ptr<const ExpertStandIns> NodeStandIns(const FittedStandIns& fitted,
                                                   const ExpertPlan& plan, int node);

}  // namespace moedist
