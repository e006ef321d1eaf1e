// One decoder layer applied to the residual stream: the step both forward passes share.
//
// Forward() (forward.h) runs every layer for one sequence's tokens; the layer-major pass
// (layer_stream.h) runs one layer over many prompts before moving on. Both must do the same
// arithmetic per token, step for step (tests/runtime-min/layer_stream_test.cpp compares them
// bit for bit), so the layer body lives here once.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "runtime-min/activation_observer.h"
#include "runtime-min/activations.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/kv_cache.h"
#include "runtime-min/model.h"
#include "runtime-min/routing_observer.h"

namespace moedist {

// An empty KV cache shaped for the model's attention (kv_cache.h: GQA caches kv heads, MLA the
// decompressed per-head keys and values).
KvCache MakeKvCache(const ModelConfig& c);

// x [n, H] = the embedding rows of `tokens` (ids already checked against the vocabulary),
// failing if one holds NaN or Inf (non_finite.h).
Status EmbedTokens(const Model& model, std::span<const int32_t> tokens, float* x);

// out[t] = RMSNorm(x[t]) · weight for n rows of width hs. `out` may alias `x`.
void RmsNormRows(const float* x, const std::vector<float>& weight, int n, int hs, double eps,
                 float* out);

// x [n, H] holds the residual stream of tokens at positions [pos0, pos0 + n) and is updated in
// place: x += Attention(RMSNorm(x)); x += FFN(RMSNorm(x)). Keys and values go into `kv` at
// `layer`; MoE layers route under `mask` (null: all experts) and report to `observer` (null:
// nobody); every matmul's input goes to `activations` (null: nobody). Uses act.xn and
// act.branch, so `x` must not be one of them. Fails when the residual stream turns NaN or Inf
// after a block (non_finite.h), as Forward() does.
Status DecoderLayerForward(const Model& model, int layer, float* x, int n, int pos0, KvCache& kv,
                           Activations& act, const ExpertMask* mask, RoutingObserver* observer,
                           ActivationObserver* activations = nullptr);

// The first half of DecoderLayerForward for an MoE layer, then its router only: x += Attention(
// RMSNorm(x)), and the routing of RMSNorm(x) goes to `observer`. No expert runs, so the layer's
// routed experts need not be loaded (the placement probe on a release's trunk). FailedPrecondition
// for a layer that is not MoE.
Status DecoderLayerRoute(const Model& model, int layer, float* x, int n, int pos0, KvCache& kv,
                         Activations& act, const ExpertMask* mask, RoutingObserver* observer);

}  // namespace moedist
