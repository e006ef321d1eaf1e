// RoutingObserver: how callers see each MoE layer's routing as the forward pass computes it.
//
// Profiling needs the UNMASKED router distribution of every token without keeping the whole
// activation history, so the forward pass hands each layer's routing for the tokens of one
// call to the observer and forgets it. Row t of every array is the token at position
// first_position + t of the sequence.
//   probs: the family's unmasked scores: softmax over all experts (Qwen, Mixtral, OLMoE,
//          DeepSeek-V2), sigmoid per expert (DeepSeek-V3 without the correction bias, Llama-4).
//   experts / weights: what was actually used, under the mask, in selection order (highest
//          selection score first); weights are what multiplies each expert's output (Llama-4:
//          its input), after norm_topk_prob and routed_scaling_factor.
// The pointers are valid only during the call. Called on the thread that runs Forward().
#pragma once

#include <cstdint>

namespace moedist {

struct RoutingBatch {
  int layer = 0;
  int first_position = 0;
  int num_tokens = 0;
  int num_experts = 0;
  int top_k = 0;
  const float* router_logits = nullptr;  // [num_tokens, num_experts] raw, unmasked
  const float* probs = nullptr;          // [num_tokens, num_experts] unmasked scores
  const int32_t* experts = nullptr;      // [num_tokens, top_k]
  const float* weights = nullptr;        // [num_tokens, top_k]
};

class RoutingObserver {
 public:
  virtual ~RoutingObserver() = default;
  virtual void OnRouting(const RoutingBatch& batch) = 0;
};

}  // namespace moedist
