// ProfileAccumulator: turns the runtime's per-layer routing observations into a GateProfile.
// It is the RoutingObserver the profiler hands to the forward pass; memory grows with the
// summaries and the top-m samples (T × m per layer), never with activations.
// Not thread-safe: one forward pass at a time feeds it.
#pragma once

#include <set>
#include <vector>

#include "pipeline/gate_profile.h"
#include "runtime-min/routing_observer.h"

namespace moedist {

class ProfileAccumulator final : public RoutingObserver {
 public:
  // `profile` must already have num_experts, top_k and topm set; `layers` are the MoE layers to
  // record.
  ProfileAccumulator(GateProfile* profile, const std::set<int>& layers);

  // Starts the next prompt; its tokens are the next `tokens` rows of every layer. Routing
  // observed from now on is this prompt's.
  void BeginPrompt(const std::string& id, const std::string& domain, uint32_t tokens);
  // Routing observed from now on belongs to prompt `index`, already begun. A layer-major pass
  // begins every prompt first, then selects each one as it runs through a layer; since each
  // layer's sums are separate, they are added in the same order as prompt by prompt.
  void SelectPrompt(size_t index);
  void OnRouting(const RoutingBatch& batch) override;

  // First observation that had NaN/Inf scores, if any (layer, token), for the error message.
  const std::string& first_nonfinite() const { return first_nonfinite_; }

 private:
  LayerGateProfile* Layer(int layer);

  GateProfile* profile_;
  std::vector<int> layer_slot_;   // layer -> index into profile_->layers, or -1
  std::vector<uint64_t> first_token_;  // [prompt] its first row
  size_t prompt_ = 0;                  // the prompt routing is attributed to
  uint64_t prompt_first_token_ = 0;
  std::vector<float> scratch_;
  std::vector<int> order_;
  std::string first_nonfinite_;
};

}  // namespace moedist
