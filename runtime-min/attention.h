// Self-attention of one decoder layer, for the n new tokens of a Forward() call.
//
// Both kinds read x [n, H] (already normed), append the tokens' keys and values to the KV
// cache at positions [pos0, pos0 + n), attend over every visible cached position, and write
// out [n, H] (after o_proj). Eager attention as HF runs it: scores = q·k × scale, softmax in
// f32 over the visible keys, weighted sum of values.
#pragma once

#include "runtime-min/activation_observer.h"
#include "runtime-min/activations.h"
#include "runtime-min/kv_cache.h"
#include "runtime-min/model.h"

namespace moedist {

// Which cached positions a query at position p sees: [lo, p], lo from the sliding window
// (i - j < window) and Llama-4's chunks (same chunk of `chunk` positions). 0 = no limit.
struct AttentionSpan {
  int sliding_window = 0;
  int chunk = 0;
  int first_visible(int p) const;
};

// q [n, num_heads, kv.k_dim()] → out [n, num_heads, kv.v_dim()]; query t is at pos0 + t and
// query head h reads cache head h / (num_heads / kv.heads()).
void AttendCached(const float* q, int n, int pos0, int num_heads, const KvCache& kv, int layer,
                  float scale, AttentionSpan span, float* out);

// Grouped-query attention (Qwen, Mixtral, OLMoE, Llama-4). `observer` (may be null) sees the
// input of every projection (activation_observer.h).
void AttentionGqa(const Model& m, int layer, const float* x, int n, int pos0, KvCache& kv,
                  Activations& act, float* out, ActivationObserver* observer = nullptr);
// Multi-head latent attention (DeepSeek-V2/V3, Kimi-K2).
void AttentionMla(const Model& m, int layer, const float* x, int n, int pos0, KvCache& kv,
                  Activations& act, float* out, ActivationObserver* observer = nullptr);

}  // namespace moedist
