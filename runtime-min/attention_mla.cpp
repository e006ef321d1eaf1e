// Multi-head latent attention: DeepSeek-V2/V3, Kimi-K2.
//
// Queries come from a low-rank path (q_a → RMSNorm → q_b) or q_proj; keys and values from a
// compressed latent (kv_a → RMSNorm → kv_b) plus one rope key shared by all heads. Each head's
// query and key are [nope | rope]; the cache holds the decompressed per-head keys and values
// (kv_cache.h says why).
#include <cstring>
#include <vector>

#include "runtime-min/attention.h"
#include "runtime-min/kernels.h"

namespace moedist {

void AttentionMla(const Model& m, int layer, const float* x, int n, int pos0, KvCache& kv,
                  Activations& act, float* out, ActivationObserver* observer) {
  const ModelConfig& c = m.config();
  const AttentionConfig& a = c.attention;
  const AttentionWeights& w = m.weights().layers[layer].attn;
  const int nh = a.num_heads, nope = a.qk_nope_head_dim, rope = a.qk_rope_head_dim,
            vd = a.v_head_dim, qk = nope + rope, lora = a.kv_lora_rank;
  const float eps = static_cast<float>(c.rms_norm_eps);
  float* q = Grow(act.q, size_t(n) * nh * qk);
  float* kva = Grow(act.kv_a, size_t(n) * (lora + rope));
  float* latent = Grow(act.k, size_t(n) * lora);
  float* kvb = Grow(act.v, size_t(n) * nh * (nope + vd));
  float* att = Grow(act.att, size_t(n) * nh * vd);

  // 1. queries: q_a → RMSNorm → q_b, or q_proj directly (q_lora_rank 0).
  if (a.q_lora_rank > 0) {
    float* ql = Grow(act.latent, size_t(n) * a.q_lora_rank);
    ObserveMatmulInput(observer, layer, MatmulWeight::kAttnQA, x, n, c.hidden_size);
    ApplyLinear(w.q_a, x, n, ql);
    for (int t = 0; t < n; ++t) {
      RmsNorm(ql + t * a.q_lora_rank, w.q_a_norm.data(), a.q_lora_rank, eps,
              ql + t * a.q_lora_rank);
    }
    ObserveMatmulInput(observer, layer, MatmulWeight::kAttnQB, ql, n, a.q_lora_rank);
    ApplyLinear(w.q_b, ql, n, q);
  } else {
    ObserveMatmulInput(observer, layer, MatmulWeight::kAttnQ, x, n, c.hidden_size);
    ApplyLinear(w.q, x, n, q);
  }

  // 2. keys and values: kv_a = [latent | shared rope key]; RMSNorm(latent) → kv_b = per head
  //    [k_nope | v].
  ObserveMatmulInput(observer, layer, MatmulWeight::kAttnKvA, x, n, c.hidden_size);
  ApplyLinear(w.kv_a, x, n, kva);
  for (int t = 0; t < n; ++t) {
    RmsNorm(kva + t * (lora + rope), w.kv_a_norm.data(), lora, eps, latent + t * lora);
  }
  ObserveMatmulInput(observer, layer, MatmulWeight::kAttnKvB, latent, n, lora);
  ApplyLinear(w.kv_b, latent, n, kvb);

  // 3. rope on each head's q_rope and the shared k_rope; cache K = [k_nope | k_rope], V = v.
  std::vector<float> cos(rope / 2), sin(rope / 2);
  for (int t = 0; t < n; ++t) {
    const int pos = pos0 + t;
    m.rope().Angles(pos, cos.data(), sin.data());
    for (int h = 0; h < nh; ++h) {
      m.rope().Rotate(q + (size_t(t) * nh + h) * qk + nope, cos.data(), sin.data());
    }
    float* k_rope = kva + t * (lora + rope) + lora;
    m.rope().Rotate(k_rope, cos.data(), sin.data());
    for (int h = 0; h < nh; ++h) {
      const float* src = kvb + (size_t(t) * nh + h) * (nope + vd);
      float* kc = kv.k(layer, pos) + h * qk;
      std::memcpy(kc, src, sizeof(float) * nope);
      std::memcpy(kc + nope, k_rope, sizeof(float) * rope);
      std::memcpy(kv.v(layer, pos) + h * vd, src + nope, sizeof(float) * vd);
    }
  }

  // 4. attention; yarn rope scaling multiplies the softmax scale by mscale².
  const float scale = static_cast<float>(a.softmax_scale * m.rope().softmax_mscale);
  AttendCached(q, n, pos0, nh, kv, layer, scale, AttentionSpan{}, att);

  // 5. output projection.
  ObserveMatmulInput(observer, layer, MatmulWeight::kAttnOutput, att, n, w.o.w.in);
  ApplyLinear(w.o, att, n, out);
}

}  // namespace moedist
