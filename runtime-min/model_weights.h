// The weights of one MoE model as plain structs (llama2.c's TransformerWeights), with shapes in
// the comments. H = hidden_size, V = vocab, E = routed experts, I = expert width, S = shared
// expert width, F = dense MLP width, hd = head_dim, nh/kvh = attention / key-value heads.
//
// Matrices are WeightMatrix views into the mmapped shards (never copied; BF16/F16 are widened
// and moedist.quant block types dequantized as they are used, stored_tensor.h). Vectors (norm
// weights, biases) are small and decoded to f32 once at load. An empty vector / WeightMatrix
// means the model has no such tensor.
// Thread safety: immutable after LoadModelWeights(); the Checkpoint must outlive it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "runtime-min/stored_tensor.h"
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
  std::vector<int> absent;          // ids whose experts[id] is empty (a mask-mode node bundle)
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

struct WeightLoadOptions {
  // A node bundle in mask mode (docs/formats/bundle.md) holds only some routed experts under
  // their original ids: an expert with none of its three projections present is recorded in
  // MoeWeights::absent instead of refused. One with some but not all is still an error.
  bool experts_may_be_absent = false;
};

// Binds every tensor the forward pass needs, checking names, encodings (F32, BF16, F16, or a
// block type with its moedist.quant metadata) and logical shapes against the config; errors
// name the tensor (and for quantized ones its shard), what was found and what was expected.
Result<ModelWeights> LoadModelWeights(const Checkpoint& ckpt,
                                      const WeightLoadOptions& options = {});

// The same from any source of Hugging Face-named tensors (a node GGUF: gguf_model_loader.h):
// `lookup` gives a tensor's StoredTensor, or nullopt when the source has no such tensor.
// `source` names it in messages.
using TensorLookup =
    std::function<Result<std::optional<StoredTensor>>(const std::string& name)>;
Result<ModelWeights> LoadModelWeights(const ModelConfig& config, const std::string& source,
                                      const TensorLookup& lookup,
                                      const WeightLoadOptions& options = {});

}  // namespace moedist
