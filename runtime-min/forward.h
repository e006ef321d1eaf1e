// Forward(): run tokens of one sequence through the model, with an optional expert mask and
// routing observer, appending to the sequence's KV cache.
//
// A Sequence is one causal token stream from position 0: its KV cache and reusable buffers.
// Forward() takes the next n tokens (prefill: the whole prompt; decode: one), so running a
// prompt in one call or token by token gives the same logits (up to f32 summation order).
// Batches of sequences are run one sequence at a time.
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

class Sequence {
 public:
  explicit Sequence(const Model& model);
  int length() const { return kv_.length(); }
  void Reset() { kv_.Clear(); }
  KvCache& kv() { return kv_; }
  Activations& act() { return act_; }

 private:
  KvCache kv_;
  Activations act_;
};

struct ForwardOptions {
  const ExpertMask* mask = nullptr;           // null: every expert allowed
  RoutingObserver* observer = nullptr;        // null: nobody watches the routing
  ActivationObserver* activations = nullptr;  // null: nobody sees the matmul inputs
  bool all_logits = true;                     // false: only the last token's logits
};

// Runs `tokens` at positions [seq.length(), seq.length() + n). Writes logits [n, V] (or [1, V]
// when !all_logits) into `logits` (resized) unless it is null. Token ids outside
// [0, vocab_size) are refused before anything runs.
Status Forward(const Model& model, Sequence& seq, std::span<const int32_t> tokens,
               const ForwardOptions& options, std::vector<float>* logits);

}  // namespace moedist
