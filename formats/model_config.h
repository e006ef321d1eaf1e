// ModelConfig: one description of a Hugging Face MoE model, read from config.json, that every
// later stage uses (taxonomy, runtime-min, plan, pack). Family-specific spellings
// (num_experts / num_local_experts / n_routed_experts, ...) are resolved here once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace moedist {

enum class Family {
  kQwen3Moe,
  kQwen2Moe,
  kMixtral,
  kOlmoe,
  kDeepseekV3,  // also deepseek_v2 and kimi_k2 spellings
  kLlama4,      // llama4_text / Llama4ForCausalLM (packed experts)
  kGptOss,      // packed MXFP4 experts
};
std::string_view FamilyName(Family f);

// How router logits become selection scores and weights.
//   kSoftmax:      softmax over all experts, top-k of the probabilities (Qwen, Mixtral, OLMoE,
//                  DeepSeek-V2)
//   kSigmoid:      sigmoid per expert, top-k (DeepSeek-V3, Kimi-K2)
//   kSoftmaxTopk:  top-k of the raw logits, softmax over the k chosen (GPT-OSS)
//   kSigmoidTopk:  top-k of the raw logits, sigmoid of each chosen logit (Llama-4)
enum class ScoringFunc { kSoftmax, kSigmoid, kSoftmaxTopk, kSigmoidTopk };
std::string_view ScoringFuncName(ScoringFunc f);
enum class AttentionKind { kGqa, kMla };
// How routed experts are stored.
enum class ExpertLayout {
  kPerExpert,       // mlp.experts.{E}.{gate,up,down}_proj.weight (or w1/w2/w3)
  kPackedLlama4,    // feed_forward.experts.gate_up_proj [E, H, 2I] + down_proj [E, I, H]
  kPackedFusedV5,   // transformers v5: experts.gate_up_proj [E, 2I, H] + experts.down_proj [E, H, I]
  kPackedGptOss,    // experts.gate_up_proj_{blocks,scales,bias} interleaved + down_proj_*
};

struct RoutingConfig {
  int num_experts = 0;          // routed experts per MoE layer
  int top_k = 0;                // experts chosen per token
  int num_shared_experts = 0;   // always-on experts (DeepSeek n_shared_experts; Qwen2 / Llama4: 1)
  bool shared_expert_gate = false;  // Qwen2-MoE: sigmoid(shared_expert_gate(x)) scales the shared expert
  ScoringFunc scoring = ScoringFunc::kSoftmax;
  bool norm_topk_prob = false;  // renormalise the chosen k weights to sum to 1
  bool correction_bias = false; // DeepSeek-V3 e_score_correction_bias (selection only)
  std::string topk_method;      // DeepSeek: "greedy", "group_limited_greedy", "noaux_tc"
  int n_group = 1;              // DeepSeek grouped top-k: groups of experts
  int topk_group = 1;           // groups kept per token
  double routed_scaling_factor = 1.0;
  // Llama-4: the routing weight scales the expert's input instead of its output.
  bool weight_scales_input = false;
  bool router_bias = false;     // GPT-OSS router has a bias
};

struct AttentionConfig {
  AttentionKind kind = AttentionKind::kGqa;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;           // q/k/v head size for GQA
  bool qkv_bias = false;      // Qwen2: q/k/v biases
  bool o_bias = false;
  // qk-norm: kNone, kPerHead (Qwen3: RMSNorm over head_dim), kWhole (OLMoE: RMSNorm over the
  // whole q / k projection), kL2 (Llama-4: weightless L2 norm on rope layers)
  enum class QkNorm { kNone, kPerHead, kWhole, kL2 } qk_norm = QkNorm::kNone;
  // MLA (DeepSeek-V2/V3, Kimi-K2)
  int q_lora_rank = 0;        // 0 = no q compression (q_proj directly)
  int kv_lora_rank = 0;
  int qk_nope_head_dim = 0;
  int qk_rope_head_dim = 0;
  int v_head_dim = 0;
  double rope_theta = 10000.0;
  bool rope_interleave = false;  // rotate adjacent pairs (x0,x1) instead of halves
  nlohmann::json rope_scaling;   // null when absent; kept verbatim for runtime-min
  std::vector<bool> rope_layers; // per layer: false = NoPE (Llama-4 no_rope_layers)
  double softmax_scale = 0.0;    // 1/sqrt(qk head size) unless the family says otherwise
  int sliding_window = 0;        // 0 = none
};

struct ModelConfig {
  Family family;
  std::string model_type;     // config.json spelling
  std::string architecture;   // architectures[0]
  int num_layers = 0;
  int hidden_size = 0;
  int vocab_size = 0;
  int intermediate_size = 0;         // dense MLP width (dense layers)
  int moe_intermediate_size = 0;     // routed expert width
  int shared_intermediate_size = 0;  // shared expert width (total, all shared experts)
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  std::string torch_dtype;
  std::string hidden_act = "silu";
  std::string weight_prefix;  // "" or "language_model." for multimodal wrappers (Llama-4)
  std::vector<bool> is_moe_layer;  // per layer
  ExpertLayout expert_layout = ExpertLayout::kPerExpert;
  RoutingConfig routing;
  AttentionConfig attention;
  nlohmann::json raw;  // the parsed config.json, for fields only one consumer needs

  std::vector<int> MoeLayers() const;
  int num_moe_layers() const;
};

// Parses config.json text. `source` names the file in errors. Missing or contradictory fields
// are errors naming the field.
Result<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& source);
Result<ModelConfig> LoadModelConfig(const std::string& checkpoint_dir);

}  // namespace moedist
