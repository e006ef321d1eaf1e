// RuntimeConfig: what the forward pass needs beyond ModelConfig, read once from config.json.
//
// ModelConfig is the project-wide description (formats/); a few settings matter only to
// running the model (Llama-4's chunked attention and NoPE temperature tuning, the context
// length yarn needs) and a few defaults must follow transformers' config classes when the key
// is absent (Llama-4: no_rope_layers every 4th layer, use_qk_norm true). They live here so
// runtime-min does not reinterpret formats' fields. Unsupported settings (a hidden_act other
// than silu, OLMoE clip_qkv, Qwen sliding windows) are refused here with the field named.
#pragma once

#include <vector>

#include "core/status.h"
#include "formats/model_config.h"

namespace moedist {

struct RuntimeConfig {
  int max_position_embeddings = 0;  // 0 when config.json has none
  std::vector<bool> rope_layers;    // per layer: false = NoPE
  bool l2_qk_norm = false;          // Llama-4 weightless L2 norm of q and k on rope layers
  int attention_chunk_size = 0;     // Llama-4: rope layers attend within chunks; 0 = off
  int sliding_window = 0;           // 0 = off: key j visible to query i iff i - j < window
  // Llama-4 NoPE layers scale q by log(floor((pos + 1) / floor_scale) + 1) * attn_scale + 1.
  bool attn_temperature_tuning = false;
  double floor_scale = 8192.0;
  double attn_scale = 0.1;
};

Result<RuntimeConfig> ReadRuntimeConfig(const ModelConfig& config);

}  // namespace moedist
