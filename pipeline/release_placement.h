// ReleasePlacer: `moedist place DIST` — which node of a release should serve a prompt, from the
// release alone (distribution.json and the trunk bundle), as the front door of a cluster has
// it: not the source checkpoint, not plan.json, not the routed experts.
//
// The trunk holds every tensor but the routed experts: embeddings, attention, norms, dense MLPs,
// shared experts and the full routers. That is exactly what the routing of the FIRST MoE layer
// needs (its input is the embedding through the dense layers before it and its attention), and
// no later layer's routing can be computed without routed experts. So the probe runs the prompt's
// first N tokens up to the first MoE layer's router (runtime-min's route_only_last_layer) and
// scores node g by the captured top-k mass its group ∪ overlay offers in that layer
// (captured_mass.h), the measure `place CKPT --plan` averages over every profiled layer. Node g
// holds group g of distribution.json's partition; the nodes are its node-<g>.
//
// Opening verifies what is read (release_trust.h: the trunk bundle, and the tokenizer.json that
// text prompts go through against its digest in the manifest) and maps the trunk once, so a
// placer kept open (`place --stdin`, placement_server.h) answers each prompt with one probe.
// Thread safety: Place() runs a forward pass; one at a time per process (runtime-min).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "manifest/distribution.h"
#include "pipeline/expert_plan.h"
#include "pipeline/prompt_placement.h"
#include "pipeline/release_trust.h"
#include "runtime-min/model.h"
#include "runtime-min/tokenizer.h"

namespace moedist {

struct ReleasePlacerOptions {
  std::string dist_dir;
  ReleaseTrustOptions trust;
};

class ReleasePlacer {
 public:
  static Result<std::unique_ptr<ReleasePlacer>> Open(const ReleasePlacerOptions& options);

  // Scores the nodes for the first `tokens` of `ids` (ids in [0, vocab)).
  Result<PlacementResult> Place(std::vector<int32_t> ids, int tokens) const;
  // The same for text, through the release's tokenizer.json (NotFound when it has none).
  Result<PlacementResult> PlaceText(const std::string& text, int tokens) const;

  ReleaseTrust trust() const { return trust_; }
  int probe_layer() const { return probe_layer_; }  // the MoE layer whose routing is scored
  const std::vector<std::string>& nodes() const { return nodes_; }
  const std::string& tokenizer_source() const { return tokenizer_source_; }  // "" when none

 private:
  ReleasePlacer() = default;

  std::unique_ptr<Model> trunk_;
  ExpertPlan plan_;  // the release's partition; only the probe layer marked profiled
  std::optional<Tokenizer> tokenizer_;
  std::string tokenizer_source_;
  std::vector<std::string> nodes_;
  ReleaseTrust trust_ = ReleaseTrust::kNotChecked;
  int probe_layer_ = 0;
};

// The release's partition as a plan (node g holds group g ∪ overlay), every layer profiled.
ExpertPlan PlanOfRelease(const Distribution& d, const ModelConfig& config);

}  // namespace moedist
