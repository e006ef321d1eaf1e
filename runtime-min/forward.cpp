#include "runtime-min/forward.h"

#include "runtime-min/attention.h"
#include "runtime-min/feed_forward.h"
#include "runtime-min/kernels.h"

namespace moedist {
namespace {

KvCache MakeCache(const ModelConfig& c) {
  const AttentionConfig& a = c.attention;
  if (a.kind == AttentionKind::kMla) {
    return KvCache(c.num_layers, a.num_heads, a.qk_nope_head_dim + a.qk_rope_head_dim,
                   a.v_head_dim);
  }
  return KvCache(c.num_layers, a.num_kv_heads, a.head_dim, a.head_dim);
}

void NormRows(const float* x, const std::vector<float>& weight, int n, int hs, double eps,
              float* out) {
  for (int t = 0; t < n; ++t) {
    RmsNorm(x + size_t(t) * hs, weight.data(), hs, static_cast<float>(eps), out + size_t(t) * hs);
  }
}

void AddRows(const float* src, int64_t count, float* dst) {
  for (int64_t i = 0; i < count; ++i) dst[i] += src[i];
}

}  // namespace

Sequence::Sequence(const Model& model) : kv_(MakeCache(model.config())) {}

Status Forward(const Model& model, Sequence& seq, std::span<const int32_t> tokens,
               const ForwardOptions& opt, std::vector<float>* logits) {
  const ModelConfig& c = model.config();
  const ModelWeights& w = model.weights();
  const int n = static_cast<int>(tokens.size()), hs = c.hidden_size, pos0 = seq.length();
  if (n == 0) return Status::InvalidArgument("Forward: no tokens");
  for (int t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.vocab_size) {
      return Status::InvalidArgument("token id {} at index {} is out of range (vocab_size {})",
                                     tokens[t], t, c.vocab_size);
    }
  }
  Activations& act = seq.act();
  seq.kv().Reserve(pos0 + n);
  float* x = Grow(act.x, size_t(n) * hs);
  float* xn = Grow(act.xn, size_t(n) * hs);
  float* branch = Grow(act.branch, size_t(n) * hs);

  // 1. token embeddings.
  for (int t = 0; t < n; ++t) {
    ConvertToF32(w.embed.row(tokens[t]), w.embed.dtype, hs, x + size_t(t) * hs);
  }
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    // 2. attention block: x += Attention(RMSNorm(x)).
    NormRows(x, lw.attn_norm, n, hs, c.rms_norm_eps, xn);
    if (c.attention.kind == AttentionKind::kMla) {
      AttentionMla(model, l, xn, n, pos0, seq.kv(), act, branch);
    } else {
      AttentionGqa(model, l, xn, n, pos0, seq.kv(), act, branch);
    }
    AddRows(branch, int64_t(n) * hs, x);
    // 3. feed-forward block: x += FFN(RMSNorm(x)); MoE layers route under the mask.
    NormRows(x, lw.ffn_norm, n, hs, c.rms_norm_eps, xn);
    if (lw.is_moe) {
      MoeForward(model, l, xn, n, pos0, opt.mask, opt.observer, act, branch);
    } else {
      MlpForward(lw.dense, xn, n, act, branch);
    }
    AddRows(branch, int64_t(n) * hs, x);
  }
  seq.kv().set_length(pos0 + n);
  if (!logits) return Status::Ok();

  // 4. final norm and lm_head, for every token or just the last.
  const int first = opt.all_logits ? 0 : n - 1, rows = n - first;
  NormRows(x + size_t(first) * hs, w.final_norm, rows, hs, c.rms_norm_eps, xn);
  logits->resize(size_t(rows) * c.vocab_size);
  ApplyLinear(w.lm_head, xn, rows, logits->data());
  return Status::Ok();
}

}  // namespace moedist
