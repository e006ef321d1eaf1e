// Rope: rotary position embedding as transformers computes it for one model.
//
// inv_freq[i] = 1 / theta^(2i / rotary_dim) in f32 (as torch does), then adjusted by
// rope_scaling: null / "default", "linear", "llama3" (Llama-3/4) and "yarn" (DeepSeek-V3) are
// supported; any other type is refused with the type named. Two rotation layouts:
//   halves: x_i pairs with x_{i+d/2} (rotate_half: Qwen, Mixtral, OLMoE)
//   pairs:  x_{2i} pairs with x_{2i+1} (Llama-4's complex view; DeepSeek's interleaved rope,
//           whose de-interleave permutes q and k alike and so leaves q·k unchanged)
// Thread safety: immutable after MakeRope().
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "formats/model_config.h"

namespace moedist {

struct Rope {
  int rotary_dim = 0;
  bool pairs = false;
  std::vector<float> inv_freq;    // [rotary_dim / 2]
  float attention_scaling = 1.0f; // multiplies cos and sin (yarn's attention factor)
  double softmax_mscale = 1.0;    // DeepSeek yarn: the softmax scale is multiplied by this

  // cos/sin [rotary_dim / 2] for one position (f32 angle, as torch forms it).
  void Angles(int64_t position, float* cos, float* sin) const;
  // Rotates x[0, rotary_dim) in place with angles from Angles().
  void Rotate(float* x, const float* cos, const float* sin) const;
};

// `rotary_dim` is the rotated width (head_dim, or qk_rope_head_dim for MLA);
// `max_position_embeddings` is needed only by yarn.
Result<Rope> MakeRope(const AttentionConfig& attention, int rotary_dim, bool pairs,
                      int max_position_embeddings);

}  // namespace moedist
