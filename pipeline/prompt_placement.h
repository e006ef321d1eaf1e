// Prompt placement: which node should serve a prompt. Runs the prompt's first N tokens through
// the full model (unmasked), and scores each node g by the captured top-k mass its group ∪
// overlay offers, averaged over the plan's profiled layers and those tokens — the same measure
// the planner optimises, so `place` and `plan` agree on what a good node is.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/expert_plan.h"

namespace moedist {

struct PlacementRequest {
  std::string checkpoint;
  std::string plan_path;
  std::string prompt;        // text (needs the checkpoint's tokenizer.json) ...
  std::vector<int32_t> ids;  // ... or token ids
  int tokens = 64;           // first N prompt tokens
};

struct PlacementResult {
  std::vector<double> scores;  // per node
  int chosen = 0;
  double margin = 0;  // best − second best
  int tokens_used = 0;
  std::vector<int> layers;         // layers scored
  std::vector<std::string> nodes;  // [node] its id, "node-<g>" (node g holds group g ∪ overlay)
};

Result<PlacementResult> PlacePrompt(const PlacementRequest& request);

// The chosen node (the best score, ties to the lower node) and its margin over the runner-up,
// from `result.scores`.
void ChooseNode(PlacementResult& result);

// {"scores", "node" (index), "node_id", "nodes", "margin", "tokens", "layers"}: what
// `place --json` prints and each `place --stdin` answer holds.
nlohmann::json PlacementToJson(const PlacementResult& result);

}  // namespace moedist
