// Measuring a budget candidate: pack it into a scratch directory exactly as `pack` would, open
// every node directory in runtime-min, score the calibration prompts teacher-forced, and turn
// the per-prompt log-probabilities into the session figures (session_quality.h): worst node,
// placed and oracle Δ against the full model. The node bytes are the written files' sizes.
// The eval suite is never touched here: it stays held out for `validate`.
// Thread safety: one measurement at a time (runtime-min runs one forward pass at a time).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/expert_plan.h"
#include "pipeline/gate_profile.h"
#include "pipeline/pack_recipe.h"
#include "pipeline/session_quality.h"
#include "pipeline/validation_eval.h"
#include "runtime-min/model.h"

namespace moedist {

// What every measurement shares: the prompts, the full model's scores, the placement probe.
struct MeasureBasis {
  std::string checkpoint_dir;
  EvalPrompts prompts;          // calibration prompts, cut to the measured length
  std::vector<double> weights;  // [prompt] tokens scored
  QualityStats full;            // the full model, every expert
  GateProfile probe;            // the placer's routing view (session_quality.h)
  std::shared_ptr<const Model> full_model;
  int threads = 1;  // pack threads
};

// Opens the checkpoint, tokenizes the suite (at most `max_prompts`, taken round-robin over
// domains; 0 = all) cut to `max_tokens`, scores it on the full model and probes placement over
// the first `place_tokens` tokens.
Result<MeasureBasis> PrepareMeasureBasis(const std::string& checkpoint_dir,
                                         const std::string& suite_path, int max_prompts,
                                         int max_tokens, int place_tokens, int threads);

struct CandidateMeasurement {
  uint64_t bytes = 0;                // the largest node directory's files
  std::vector<uint64_t> node_bytes;  // [node]
  SessionQuality quality;
  double seconds = 0;
};

// Layer sensitivity: per MoE layer, the Δ mean log-probability (token-weighted, vs the full
// model) when only that layer is restricted to what a node of `plan` holds and every other layer
// keeps all experts, averaged over the plan's groups. Costs layers × groups scorings of the
// basis' prompts on the full model (no packing).
Result<std::map<int, double>> MeasureLayerSensitivity(const MeasureBasis& basis,
                                                      const ExpertPlan& plan);

// Packs `plan` with `recipe` into `dir`/dist (removed afterwards unless `keep`), then measures.
Result<CandidateMeasurement> MeasureCandidate(const MeasureBasis& basis, const ExpertPlan& plan,
                                              const PackRecipe& recipe, const std::string& dir,
                                              bool keep);

}  // namespace moedist
