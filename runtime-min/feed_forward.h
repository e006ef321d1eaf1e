// The feed-forward half of a decoder layer: a dense SwiGLU MLP, or a MoE block (router → top-k
// under the expert mask → routed experts → combine, plus shared experts).
#pragma once

#include "runtime-min/activation_observer.h"
#include "runtime-min/activations.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/model.h"
#include "runtime-min/routing_observer.h"

namespace moedist {

// Which MLP of which layer MlpForward runs, for the activation observer: its three matrices
// are reported as gate/up/down of that kind (a routed expert with its id).
struct MlpSite {
  enum class Kind : uint8_t { kDense, kShared, kExpert };
  int layer = 0;
  Kind kind = Kind::kDense;
  int expert = -1;
};

// out [n, H] = down(silu(gate · x) * (up · x)) for x [n, H]. Uses act.gate / act.up.
// `activations` (may be null) sees each matrix's input, named by `site`.
void MlpForward(const MlpWeights& w, const float* x, int n, Activations& act, float* out,
                ActivationObserver* activations = nullptr, MlpSite site = {});

// Steps 1-3 of the MoE block: router logits, top-k under `mask`, the observer told. Leaves the
// choice in act.routing; runs no expert, so a model without its routed experts (a release's
// trunk) can be routed.
void RouteMoeTokens(const Model& m, int layer, const float* x, int n, int pos0,
                    const ExpertMask* mask, RoutingObserver* observer, Activations& act,
                    ActivationObserver* activations = nullptr);

// The MoE block of `layer` for x [n, H] (normed) at positions [pos0, pos0 + n) → out [n, H].
// `mask` may be null (every expert allowed); `observer` and `activations` may be null.
void MoeForward(const Model& m, int layer, const float* x, int n, int pos0, const ExpertMask* mask,
                RoutingObserver* observer, Activations& act, float* out,
                ActivationObserver* activations = nullptr);

}  // namespace moedist
