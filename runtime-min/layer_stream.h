// ForwardLayerMajor(): run many prompts through the model one decoder layer at a time.
//
// Forward() runs a prompt through every layer, so over a calibration suite it touches the whole
// model; profiling a checkpoint larger than memory needs the other order. This pass embeds all
// prompts, then for each layer runs every prompt's tokens through it (attention causal within
// the prompt, keys and values held for that layer only), and can drop the layer's weight pages
// before the next (weight_pages.h). Memory: one layer's weights plus the residual stream of all
// tokens (tokens × hidden f32) plus one prompt's work buffers.
//
// Each prompt goes through a layer in one DecoderLayerForward() call with all its tokens, as
// Forward() runs a prompt in one call, so every token's arithmetic is identical to running the
// prompts one by one with Forward(); only the order in which the observer hears about
// (layer, prompt) pairs differs: layer by layer, prompts in order within a layer.
// Thread safety: as Forward() (one pass at a time per process: the default thread pool).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/status.h"
#include "runtime-min/activation_observer.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/model.h"
#include "runtime-min/routing_observer.h"
#include "runtime-min/weight_pages.h"

namespace moedist {

struct LayerStreamOptions {
  int last_layer = -1;                        // run layers [0, last_layer]; -1: all
  const ExpertMask* mask = nullptr;           // null: every expert allowed
  RoutingObserver* observer = nullptr;        // null: nobody watches the routing
  ActivationObserver* activations = nullptr;  // null: nobody sees the matmul inputs
  // The last layer (a MoE layer) runs attention and its router only (DecoderLayerRoute): its
  // routing is observed, its experts neither run nor need to be loaded, so a release's trunk,
  // which holds no routed expert, can be probed up to its first MoE layer.
  bool route_only_last_layer = false;
  // Non-null: release the embedding's pages once all prompts are embedded, and each layer's
  // pages once every prompt has been through it.
  const WeightPages* release = nullptr;
  // Called before prompt `prompt`'s tokens go through `layer` (routing observed next is its).
  std::function<void(int layer, size_t prompt)> on_prompt;
  // Called after each layer, once its pages are released; an error stops the pass with it.
  std::function<Status(int layer)> on_layer_done;
};

// Runs `prompts` (each non-empty, ids in [0, vocab_size)) through layers [0, last_layer].
// Bad ids are refused before anything runs, naming the prompt and index.
Status ForwardLayerMajor(const Model& model, std::span<const std::vector<int32_t>> prompts,
                         const LayerStreamOptions& options);

}  // namespace moedist
