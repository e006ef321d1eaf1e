// Grouped-query attention: Qwen2/3-MoE, Mixtral, OLMoE, Llama-4.
#include <cmath>
#include <cstring>
#include <vector>

#include "runtime-min/attention.h"
#include "runtime-min/kernels.h"

namespace moedist {

void AttentionGqa(const Model& m, int layer, const float* x, int n, int pos0, KvCache& kv,
                  Activations& act, float* out, ActivationObserver* observer) {
  const ModelConfig& c = m.config();
  const AttentionConfig& a = c.attention;
  const RuntimeConfig& rc = m.runtime();
  const AttentionWeights& w = m.weights().layers[layer].attn;
  const int nh = a.num_heads, kvh = a.num_kv_heads, hd = a.head_dim;
  const float eps = static_cast<float>(c.rms_norm_eps);
  float* q = Grow(act.q, size_t(n) * nh * hd);
  float* k = Grow(act.k, size_t(n) * kvh * hd);
  float* v = Grow(act.v, size_t(n) * kvh * hd);
  float* att = Grow(act.att, size_t(n) * nh * hd);

  // 1. q, k, v projections (Qwen2: with biases).
  for (MatmulWeight wt : {MatmulWeight::kAttnQ, MatmulWeight::kAttnK, MatmulWeight::kAttnV}) {
    ObserveMatmulInput(observer, layer, wt, x, n, c.hidden_size);
  }
  ApplyLinear(w.q, x, n, q);
  ApplyLinear(w.k, x, n, k);
  ApplyLinear(w.v, x, n, v);

  // 2. qk-norm before rope: RMSNorm per head (Qwen3) or over the whole projection (OLMoE).
  if (a.qk_norm == AttentionConfig::QkNorm::kPerHead) {
    for (int i = 0; i < n * nh; ++i) RmsNorm(q + i * hd, w.q_norm.data(), hd, eps, q + i * hd);
    for (int i = 0; i < n * kvh; ++i) RmsNorm(k + i * hd, w.k_norm.data(), hd, eps, k + i * hd);
  } else if (a.qk_norm == AttentionConfig::QkNorm::kWhole) {
    for (int t = 0; t < n; ++t) {
      RmsNorm(q + t * nh * hd, w.q_norm.data(), nh * hd, eps, q + t * nh * hd);
      RmsNorm(k + t * kvh * hd, w.k_norm.data(), kvh * hd, eps, k + t * kvh * hd);
    }
  }

  const bool use_rope = rc.rope_layers[layer];
  std::vector<float> cos(hd / 2), sin(hd / 2);
  for (int t = 0; t < n; ++t) {
    const int pos = pos0 + t;
    float* qt = q + t * nh * hd;
    float* kt = k + t * kvh * hd;
    // 3. rope on rope layers (halves, or adjacent pairs for Llama-4).
    if (use_rope) {
      m.rope().Angles(pos, cos.data(), sin.data());
      for (int h = 0; h < nh; ++h) m.rope().Rotate(qt + h * hd, cos.data(), sin.data());
      for (int h = 0; h < kvh; ++h) m.rope().Rotate(kt + h * hd, cos.data(), sin.data());
    }
    // 4. Llama-4: weightless L2 norm of q and k after rope on rope layers; on NoPE layers a
    //    position-dependent temperature on q (1 until position floor_scale - 1).
    if (rc.l2_qk_norm && use_rope) {
      for (int h = 0; h < nh; ++h) RmsNorm(qt + h * hd, nullptr, hd, eps, qt + h * hd);
      for (int h = 0; h < kvh; ++h) RmsNorm(kt + h * hd, nullptr, hd, eps, kt + h * hd);
    }
    if (rc.attn_temperature_tuning && !use_rope) {
      const float scale = std::log1p(std::floor((static_cast<float>(pos) + 1.0f) /
                                                static_cast<float>(rc.floor_scale))) *
                              static_cast<float>(rc.attn_scale) +
                          1.0f;
      for (int i = 0; i < nh * hd; ++i) qt[i] *= scale;
    }
    // 5. append this token's keys and values to the cache.
    std::memcpy(kv.k(layer, pos), kt, sizeof(float) * kvh * hd);
    std::memcpy(kv.v(layer, pos), v + t * kvh * hd, sizeof(float) * kvh * hd);
  }

  // 6. attention over the visible cached positions (Llama-4 rope layers: within a chunk).
  AttentionSpan span{rc.sliding_window, use_rope ? rc.attention_chunk_size : 0};
  AttendCached(q, n, pos0, nh, kv, layer, static_cast<float>(a.softmax_scale), span, att);

  // 7. output projection.
  ObserveMatmulInput(observer, layer, MatmulWeight::kAttnOutput, att, n, w.o.w.in);
  ApplyLinear(w.o, att, n, out);
}

}  // namespace moedist
