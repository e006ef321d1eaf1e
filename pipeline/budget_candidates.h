// Budget candidates: the configurations `plan --nodes N --node-bytes B` weighs against each other
// (docs/commands/plan.md, "Budget mode"), with what each costs in node bytes and a cheap
// prediction of what it loses. Two layouts:
//   whole  every node holds every expert: one node directory, deployed on all N machines; the
//          experts at one precision, the trunk's matrices at the same or a higher one;
//   split  G node groups (G divides N, so every group has N/G replicas) plus the largest overlay
//          of hot experts that still fits B, the group and the overlay each at its own precision.
// Bytes are computed from the layout pack would write (pack_layout.h): every tensor's stored
// type after the recipe's fallbacks, plus each node's own files and an allowance for the
// safetensors headers; measuring (budget_measure.h) replaces them with the files' real sizes.
// The prediction combines the profile's captured gate mass with the relative quantization error
// of sampled weight rows (QuantErrorTable); it only ranks candidates for measurement, the choice
// is made on measured log-probabilities.
// Thread safety: plain values; the table reads the checkpoint's mapping.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "formats/tensor_taxonomy.h"
#include "pipeline/expert_plan.h"
#include "pipeline/gate_profile.h"
#include "pipeline/pack_recipe.h"

namespace moedist {

struct CandidateConfig {
  bool whole = true;   // whole | split
  int groups = 1;      // node directories (1 for whole)
  int overlay = 0;     // overlay experts per MoE layer (split)
  RecipeType trunk;    // embeddings, attention, shared experts, dense MLPs, lm_head
  RecipeType experts;  // routed experts of the groups (all experts for whole)
  RecipeType overlay_type;
  // Per-layer overlay counts when they differ between layers (sensitivity-driven allocation,
  // AllocateOverlayBySensitivity); empty: `overlay` in every profiled layer.
  std::map<int, int> overlay_layers = {};
  // Proxy experts (plan stand-ins, standin_plan.h) per group, for the groups each node lacks,
  // in the bytes overlay experts would take; 0: none.
  int proxies = 0;
  std::string Id() const;  // "whole/trunk=q8_0/experts=q4_k", "split-4/o=2/..."
};

// Experts per node and layer of a split: the largest group, the overlay and the proxies of the
// G − 1 groups the node lacks.
int SplitExpertsPerNode(int num_experts, int groups, int overlay, int proxies_per_group);

// A split of `groups` groups with proxy experts (plan stand-ins) within `slots` experts per node
// and layer: as many proxies per group as fit (each stands for at least one expert), then the
// largest overlay the rest allows (smaller than a group, as every plan's overlay).
struct ProxySplit {
  int overlay = 0;
  int proxies_per_group = 0;
};
// nullopt when not even one proxy per group fits.
std::optional<ProxySplit> MostProxies(int num_experts, int groups, int slots);

// The overlay count of every profiled layer of `profile` for `c`.
std::map<int, int> OverlayCounts(const GateProfile& profile, const CandidateConfig& c);

// Per-layer overlay counts with the same total as `overlay` in every layer, given in proportion
// to each layer's sensitivity (−Δ when only that layer is restricted to a node's experts;
// positive Δ counts as 0), by largest remainder. Counts move in steps of `groups` (so each
// layer's groups stay equal and the node's bytes stay the uniform allocation's) and stay
// smaller than a group, as every plan's overlay must. All sensitivities 0: the uniform
// allocation.
std::map<int, int> AllocateOverlayBySensitivity(const std::map<int, double>& delta_by_layer,
                                                int overlay, int num_experts, int groups);

// Routers, norms and gates stay as the checkpoint has them: they are tiny, and the router decides
// which experts run at all.
PackRecipe CandidateRecipe(const CandidateConfig& c);

// Expert ids of each node per MoE layer for a candidate, using the profile: the overlay is the
// hottest `overlay` experts, the rest cut contiguously (the byte count does not depend on which
// experts go where when all experts of a layer have the same size; the measured plan uses the
// placement search).
ExpertPlan CandidateSizingPlan(const GateProfile& profile, const CandidateConfig& c);

// Bytes of the largest node directory of `plan` under `recipe`, as pack would lay it out.
Result<uint64_t> PredictNodeBytes(const Checkpoint& ckpt,
                                  const std::vector<ClassifiedTensor>& classified,
                                  const std::string& checkpoint_dir, const ExpertPlan& plan,
                                  const PackRecipe& recipe);

// Relative quantization error ‖W − Q(W)‖² / ‖W‖² of sampled rows, per requested type:
//   trunk    over the trunk's matrices, weighted by their element counts;
//   experts  per MoE layer and expert over a sample of experts (the hottest ones), from which
//            Expert() gives the gate-mass-weighted mean.
// "keep" has error 0. Tensors that do not decode to floats (FP8 with scales, MXFP4) are skipped.
class QuantErrorTable {
 public:
  static Result<QuantErrorTable> Measure(const std::vector<ClassifiedTensor>& classified,
                                         const GateProfile& profile,
                                         const std::vector<RecipeType>& types, int rows_per_tensor,
                                         int experts_per_layer);
  double Trunk(const RecipeType& t) const;
  // Mean over MoE layers of the gate-mass-weighted error of the experts `in_overlay` selects
  // (overlay experts when true, the others when false), for `overlay` hottest experts.
  double Experts(const RecipeType& t, int overlay, bool in_overlay) const;

 private:
  const GateProfile* profile_ = nullptr;
  std::map<std::string, double> trunk_;  // type name -> relative error
  // type name -> layer -> expert -> relative error (sampled experts only)
  std::map<std::string, std::map<int, std::map<int, double>>> experts_;
};

struct CandidatePrediction {
  uint64_t bytes = 0;
  double captured_mean = 1;   // placed sessions, profile's captured mass
  double captured_worst = 1;  // worst node serving every prompt
  double qerr_trunk = 0;
  double qerr_experts = 0;  // gate-mass-weighted over group and overlay experts
  double worst = 0;         // predicted Δ nats/token
  double placed = 0;
};

// Predicted Δ = −kCaptureLoss·(1 − captured) − kTrunkQuantLoss·qerr_trunk −
// kExpertQuantLoss·qerr_experts (nats/token), with the coefficients fitted on measured
// candidates of examples/model (docs/commands/plan.md); a ranking device only. The trunk's error
// costs more per unit than the experts': every token passes through every trunk matrix.
inline constexpr double kCaptureLoss = 5.0;
inline constexpr double kTrunkQuantLoss = 4.5;
inline constexpr double kExpertQuantLoss = 2.0;
void FinishPrediction(CandidatePrediction& p);

// Every configuration of the layouts above for N nodes over the given types, with the overlay
// left at 0 (the caller sizes it to the budget).
std::vector<CandidateConfig> EnumerateConfigs(int nodes, int num_experts,
                                              const std::vector<RecipeType>& trunk_types,
                                              const std::vector<RecipeType>& expert_types);

// The precisions budget mode tries, highest first: keep plus the block types of the quant table
// that quantize well enough to be worth a node (q8_0 and the k-quants).
std::vector<RecipeType> BudgetTrunkTypes();
std::vector<RecipeType> BudgetExpertTypes();

}  // namespace moedist
