// ActivationObserver: how callers see what enters each weight matrix the forward pass multiplies.
//
// An importance matrix (llama.cpp's imatrix) needs, for every 2-D weight, the sum over tokens of
// each input channel's square; keeping the activations themselves would cost tokens × width per
// matrix. So the forward pass hands each matmul's input rows to the observer as it computes them
// and forgets them. Matrices are named by where they sit (layer, MatmulWeight, routed expert id),
// not by a file's tensor names: runtime-min knows no naming scheme, callers map sites to names.
//
// What each site sees, for the n tokens of one call (rows [n, in_features], row t = token t):
//   q/k/v, the MLA down-projections, the router and Qwen2-MoE's shared-expert gate: the
//   attention or feed-forward block's normed input; q_b / kv_b: the normed q / kv latents;
//   o_proj: the attention output; an MLP's gate and up: its input (a routed expert: only the
//   tokens routed to it, Llama-4's already scaled by the routing weight), its down: silu(gate) ×
//   up. Routed experts are reported one expert at a time, in expert order, only when some token
//   chose them; the lm_head is never reported (profiling does not compute logits).
// The pointer is valid only during the call. Called on the thread that runs the forward pass.
#pragma once

#include <cstdint>

namespace moedist {

enum class MatmulWeight : uint8_t {
  kAttnQ,             // q_proj (GQA; MLA without a q latent)
  kAttnK,             // k_proj
  kAttnV,             // v_proj
  kAttnOutput,        // o_proj
  kAttnQA,            // MLA q_a_proj
  kAttnQB,            // MLA q_b_proj
  kAttnKvA,           // MLA kv_a_proj_with_mqa
  kAttnKvB,           // MLA kv_b_proj
  kRouter,            // MoE router [E, H]
  kSharedExpertGate,  // Qwen2-MoE shared_expert_gate [1, H]
  kFfnGate,           // dense MLP layer
  kFfnUp,
  kFfnDown,
  kSharedGate,  // shared experts
  kSharedUp,
  kSharedDown,
  kExpertGate,  // routed expert `expert`
  kExpertUp,
  kExpertDown,
};
inline constexpr int kNumMatmulWeights = static_cast<int>(MatmulWeight::kExpertDown) + 1;

struct MatmulInput {
  int layer = 0;
  MatmulWeight weight = MatmulWeight::kAttnQ;
  int expert = -1;              // routed experts: the expert's id; otherwise -1
  const float* rows = nullptr;  // [num_rows, in_features]
  int num_rows = 0;
  int64_t in_features = 0;
};

class ActivationObserver {
 public:
  virtual ~ActivationObserver() = default;
  virtual void OnMatmulInput(const MatmulInput& input) = 0;
};

// Reports `rows` to `observer` when there is one (the forward pass's one-line hook).
inline void ObserveMatmulInput(ActivationObserver* observer, int layer, MatmulWeight weight,
                               const float* rows, int num_rows, int64_t in_features,
                               int expert = -1) {
  if (observer) observer->OnMatmulInput({layer, weight, expert, rows, num_rows, in_features});
}

}  // namespace moedist
