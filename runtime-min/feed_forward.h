// The feed-forward half of a decoder layer: a dense SwiGLU MLP, or a MoE block (router → top-k
// under the expert mask → routed experts → combine, plus shared experts).
#pragma once

#include "runtime-min/activations.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/model.h"
#include "runtime-min/routing_observer.h"

namespace moedist {

// out [n, H] = down(silu(gate · x) * (up · x)) for x [n, H]. Uses act.gate / act.up.
void MlpForward(const MlpWeights& w, const float* x, int n, Activations& act, float* out);

// The MoE block of `layer` for x [n, H] (normed) at positions [pos0, pos0 + n) → out [n, H].
// `mask` may be null (every expert allowed); `observer` may be null.
void MoeForward(const Model& m, int layer, const float* x, int n, int pos0,
                const ExpertMask* mask, RoutingObserver* observer, Activations& act, float* out);

}  // namespace moedist
