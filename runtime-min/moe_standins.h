// The routed half of a MoE block when the node has stand-ins for absent experts
// (expert_standins.h): route, run held experts and stand-ins, accumulate into `out`.
#pragma once

#include "runtime-min/activations.h"
#include "runtime-min/expert_standins.h"
#include "runtime-min/model.h"

namespace moedist {

// r.logits [n, E] must hold the router logits of every expert (the full router). `allowed` [E]
// (null: all) flags the held experts. Adds Σ weight × expert output (or stand-in) to out [n, H]
// (which the caller zeroed). Softmax routers only (ExpertStandIns documents why).
void RoutedWithStandIns(const Model& m, int layer, const float* x, int n, const uint8_t* allowed,
                        const LayerStandIns& standins, Activations& act, float* out);

}  // namespace moedist
