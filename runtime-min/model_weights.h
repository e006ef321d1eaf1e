// The weights of one MoE model as plain structs (llama2.c's TransformerWeights), with shapes in
// the comments. H = hidden_size, V = vocab, E = routed experts, I = expert width, S = shared
// expert width, F = dense MLP width, hd = head_dim, nh/kvh = attention / key-value heads.
//
// Matrices are WeightMatrix views into the mmapped shards (never copied; BF16/F16 are widened
// as they are used). Vectors (norm weights, biases) are small and widened to f32 once at load.
// An empty vector / WeightMatrix means the model has no such tensor.
// Thread safety: immutable after LoadModelWeights(); the Checkpoint must outlive it.
#pragma once

#include <vector>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "runtime-min/weight_matrix.h"

namespace moedist {

struct Linear {
  WeightMatrix w;
  std::vector<float> bias;  // [w.out] or empty
};

// y[n, l.w.out] = x[n, l.w.in] · W + bias
void ApplyLinear(const Linear& l, const float* x, int64_t n, float* y);

struct MlpWeights {  // SwiGLU: down(silu(gate(x)) * up(x))
  WeightMatrix gate;  // [I, H] (Llama-4 packed: a column view of gate_up_proj [H, 2I])
  WeightMatrix up;    // [I, H]
  WeightMatrix down;  // [H, I]
};

struct AttentionWeights {
  // GQA (Qwen, Mixtral, OLMoE, Llama-4)
  Linear q;                    // [nh*hd, H] (+ bias [nh*hd] for Qwen2)
  Linear k, v;                 // [kvh*hd, H]
  std::vector<float> q_norm;   // Qwen3: [hd] per head; OLMoE: [nh*hd] whole projection
  std::vector<float> k_norm;   // Qwen3: [hd];          OLMoE: [kvh*hd]
  // MLA (DeepSeek): q_nope/q_rope from q (or q_a → norm → q_b), k_nope/v from kv_a → norm → kv_b
  Linear q_a;                  // [q_lora, H]            (q_lora_rank > 0)
  std::vector<float> q_a_norm; // [q_lora]
  Linear q_b;                  // [nh*(nope+rope), q_lora]
  Linear kv_a;                 // [kv_lora + rope, H]    (kv_a_proj_with_mqa)
  std::vector<float> kv_a_norm;// [kv_lora]
  Linear kv_b;                 // [nh*(nope+v), kv_lora]
  // both
  Linear o;                    // [H, nh*hd] (MLA: [H, nh*v])
};

struct MoeWeights {
  Linear router;                    // [E, H]
  std::vector<float> score_bias;    // DeepSeek-V3 e_score_correction_bias [E] (selection only)
  std::vector<MlpWeights> experts;  // [E] of I-wide SwiGLU experts
  bool has_shared = false;
  MlpWeights shared;                // S-wide (DeepSeek: n_shared_experts fused; Qwen2, Llama-4: 1)
  Linear shared_gate;               // Qwen2-MoE: [1, H], sigmoid(·) scales the shared expert
};

struct LayerWeights {
  std::vector<float> attn_norm;  // [H] input_layernorm
  std::vector<float> ffn_norm;   // [H] post_attention_layernorm
  AttentionWeights attn;
  bool is_moe = false;
  MlpWeights dense;              // non-MoE layers: F-wide SwiGLU
  MoeWeights moe;
};

struct ModelWeights {
  WeightMatrix embed;                // [V, H]
  std::vector<LayerWeights> layers;  // [L]
  std::vector<float> final_norm;     // [H]
  Linear lm_head;                    // [V, H] (the embedding when tied)
};

// Binds every tensor the forward pass needs, checking names, dtypes (F32, BF16, F16) and
// shapes against the config; errors name the tensor, what was found and what was expected.
Result<ModelWeights> LoadModelWeights(const Checkpoint& ckpt);

}  // namespace moedist
