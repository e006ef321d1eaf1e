// PlanToBudget: `moedist plan PROFILE --nodes N --node-bytes B` — the question a user starts
// from ("N machines of B bytes: what should each hold, and how good will it be?") answered with
// measured figures (docs/commands/plan.md, "Budget mode").
//
//   1. enumerate whole and split configurations over the precisions of budget_candidates.h, size
//      each split's overlay to the largest that fits B, drop what does not fit;
//   2. predict each one's loss (captured gate mass of its placement plan, quantization error of
//      sampled rows) and rank;
//   3. measure the best `measure` by prediction, always including the best whole and the best
//      split: pack to scratch and score every node on the calibration suite (budget_measure.h);
//   3b. measure the best measured split again with its overlay slots given to the layers by
//      measured sensitivity (Δ when only that layer is restricted to a node's experts);
//   4. choose by the measured worst node Δ; within `tie_nats` of the best, by placed Δ, then by
//      fewer bytes. A measured candidate whose real files exceed B is out.
// The result is an ordinary plan (the chosen layout, as `plan --groups` writes it) plus the
// chosen recipe and every candidate's bytes, prediction and measurement.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/budget_candidates.h"
#include "pipeline/budget_measure.h"
#include "pipeline/planner.h"

namespace moedist {

struct BudgetOptions {
  int nodes = 0;               // machines
  uint64_t node_bytes = 0;     // bytes of one node directory's files
  std::string checkpoint_dir;  // empty: the checkpoint the profile names
  std::string suite_path;      // empty: the calibration suite the profile names
  int measure = 4;             // candidates measured (at least the best whole and best split)
  int measure_prompts = 0;     // calibration prompts scored; 0 = all
  int measure_tokens = 128;    // tokens per prompt scored
  int place_tokens = 64;       // tokens the placer sees, as `place --tokens`
  double tie_nats = 0.002;     // worst-node Δs closer than this are a tie
  int threads = 1;             // pack threads while measuring
  int error_rows = 16;         // rows sampled per tensor for the quantization error
  int error_experts = 4;       // experts sampled per layer (the hottest)
  std::string scratch_dir;     // empty: a temporary directory, removed afterwards
  bool keep_scratch = false;   // keep each measured candidate's release
  // Also measure the best measured split with its overlay slots allocated per layer by measured
  // layer sensitivity (MeasureLayerSensitivity, AllocateOverlayBySensitivity).
  bool sensitivity = true;
  // Measure the best split once more with proxy experts (plan stand-ins, proxy-fit) for the
  // groups a node lacks, in place of G − 1 of its overlay experts per layer (same bytes).
  bool standins = true;
  int standin_tokens = 256;  // tokens per calibration prompt the proxies are fitted on
  PlacementOptions placement;
  std::function<void(const std::string&)> progress;  // one line per step; may be empty
};

struct BudgetCandidate {
  CandidateConfig config;
  CandidatePrediction predicted;
  bool viable = true;  // every node holds at least 4 × top-k experts per layer
  std::optional<CandidateMeasurement> measured;
  std::string measure_error;  // why a measurement failed, if it did
  bool over_budget = false;   // measured files exceed B
};

struct BudgetPlanResult {
  std::vector<BudgetCandidate> candidates;  // the fitting ones, best predicted first
  int configurations = 0;                   // enumerated
  int over_budget = 0;                      // enumerated but not fitting B
  uint64_t smallest_bytes = 0;              // of any configuration
  int chosen = -1;                          // index into candidates
  std::string reason;
  PlanResult plan;  // the chosen layout
  PackRecipe recipe;
  std::string checkpoint_dir, suite_path;
  std::map<int, double> layer_sensitivity;  // [layer] Δ, when measured
  std::string sensitivity_of;               // the split it was measured on
  int proxies_per_group = 0;  // proxy-fit experts per group of the chosen split (0: none)
  double full_mean_logprob = 0;
  int prompts = 0;
  int64_t tokens = 0;
  double seconds = 0;
};

Result<BudgetPlanResult> PlanToBudget(const GateProfile& profile, const std::string& profile_path,
                                      const BudgetOptions& options);

// plan.json of a budget plan: PlanResultToJson of the chosen layout plus "recipe" (the chosen
// recipe, which pack uses when given no --recipe) and "budget" (docs/formats/plan.md).
nlohmann::json BudgetPlanToJson(const BudgetPlanResult& result, const GateProfile& profile,
                                const std::string& profile_path, const BudgetOptions& options);

// Writes plan.json to `plan_path` (BudgetPlanToJson), and, when the chosen split has proxy
// experts, fits them and writes them beside it (standin_plan.h), named in plan.json. The one
// writer `plan` and `build` share.
Status WriteBudgetPlan(const BudgetPlanResult& result, const GateProfile& profile,
                       const std::string& profile_path, const BudgetOptions& options,
                       const std::string& plan_path);

}  // namespace moedist
