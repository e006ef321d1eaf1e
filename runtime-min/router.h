// Router: from router logits to the experts each token uses, as each family's HF router does,
// restricted to an allowed set (the expert mask).
//
//   softmax (Qwen, Mixtral, OLMoE, DeepSeek-V2): p = softmax(logits + m), m = 0 for allowed
//       experts and -inf otherwise; top-k of p (V2 group_limited_greedy: within the topk_group
//       groups of highest max-p); weights = p of the chosen, renormalised if norm_topk_prob.
//   sigmoid (DeepSeek-V3): s = sigmoid(logits); selection score = s + e_score_correction_bias,
//       -inf for masked experts; groups ranked by the sum of their top-2 scores, experts outside
//       the topk_group best groups scored 0.0 (as HF does), top-k; weights = s of the chosen
//       (unmasked, without the bias), / their sum if norm_topk_prob, × routed_scaling_factor.
//   sigmoid-topk (Llama-4): top-k of logits + m; weights = sigmoid(logit) of the chosen.
//   softmax-topk (GPT-OSS): top-k of logits + m; weights = softmax over the chosen logits.
// Ties go to the lower expert index. Selection order = descending selection score.
#pragma once

#include <cstdint>
#include <vector>

#include "formats/model_config.h"

namespace moedist {

struct RoutingResult {
  int num_tokens = 0, num_experts = 0, top_k = 0;
  std::vector<float> logits;    // [n, E] raw router logits (filled by the caller)
  std::vector<float> probs;     // [n, E] unmasked scores (see routing_observer.h)
  std::vector<int32_t> experts; // [n, k]
  std::vector<float> weights;   // [n, k]
};

// Fills probs, experts and weights from r.logits. `score_bias` is the DeepSeek-V3 correction
// bias [E] or null; `allowed` is [E] (nonzero = allowed) or null for all experts. The caller
// guarantees at least top_k allowed experts (ExpertMask validates this).
void RouteTokens(const RoutingConfig& rc, const float* score_bias, const uint8_t* allowed,
                 RoutingResult& r);

}  // namespace moedist
