// Overlay selection: per MoE layer, the experts to replicate on every node — those with the most
// gate mass across many domains. An expert's score is the harmonic mean over calibration
// domains of its share of that domain's mass, so an expert hot in one domain only scores low
// and a generalist (hot everywhere) scores high; with one domain it is plain mass share.
#pragma once

#include <cstdint>
#include <vector>

#include "pipeline/gate_profile.h"

namespace moedist {

// Breadth score per expert (see above), [E].
std::vector<double> OverlayScores(const LayerGateProfile& layer, int num_experts);

// The `count` best experts by score, sorted by id.
std::vector<int> SelectOverlay(const LayerGateProfile& layer, int num_experts, int count);

// Experts per layer that fit in `budget_bytes` spread evenly over `layers` MoE layers whose
// per-expert sizes are given; the same count in every layer.
int OverlayCountForBudget(uint64_t budget_bytes, const std::vector<std::vector<uint64_t>>& expert_bytes);

}  // namespace moedist
