#include "runtime-min/decoder_layer.h"

#include "runtime-min/attention.h"
#include "runtime-min/feed_forward.h"
#include "runtime-min/kernels.h"
#include "runtime-min/non_finite.h"

namespace moedist {
namespace {

void AddRows(const float* src, int64_t count, float* dst) {
  for (int64_t i = 0; i < count; ++i) dst[i] += src[i];
}

}  // namespace

KvCache MakeKvCache(const ModelConfig& c) {
  const AttentionConfig& a = c.attention;
  if (a.kind == AttentionKind::kMla) {
    return KvCache(c.num_layers, a.num_heads, a.qk_nope_head_dim + a.qk_rope_head_dim,
                   a.v_head_dim);
  }
  return KvCache(c.num_layers, a.num_kv_heads, a.head_dim, a.head_dim);
}

Status EmbedTokens(const Model& model, std::span<const int32_t> tokens, float* x) {
  const WeightMatrix& embed = model.weights().embed;
  const int n = static_cast<int>(tokens.size()), hs = model.config().hidden_size;
  for (int t = 0; t < n; ++t) DecodeWeightRow(embed, tokens[t], 0, hs, x + size_t(t) * hs);
  return CheckActivationsFinite(model, -1, "token embedding", x, int64_t(n) * hs, hs);
}

void RmsNormRows(const float* x, const std::vector<float>& weight, int n, int hs, double eps,
                 float* out) {
  for (int t = 0; t < n; ++t) {
    RmsNorm(x + size_t(t) * hs, weight.data(), hs, static_cast<float>(eps), out + size_t(t) * hs);
  }
}

namespace {

// x += Attention(RMSNorm(x)), then act.xn = RMSNorm(x) with the feed-forward norm: the input of
// the layer's feed-forward block.
Status AttentionBlock(const Model& model, int l, float* x, int n, int pos0, KvCache& kv,
                      Activations& act, ActivationObserver* activations) {
  const ModelConfig& c = model.config();
  const LayerWeights& lw = model.weights().layers[l];
  const int hs = c.hidden_size;
  float* xn = Grow(act.xn, size_t(n) * hs);
  float* branch = Grow(act.branch, size_t(n) * hs);
  RmsNormRows(x, lw.attn_norm, n, hs, c.rms_norm_eps, xn);
  if (c.attention.kind == AttentionKind::kMla) {
    AttentionMla(model, l, xn, n, pos0, kv, act, branch, activations);
  } else {
    AttentionGqa(model, l, xn, n, pos0, kv, act, branch, activations);
  }
  AddRows(branch, int64_t(n) * hs, x);
  RETURN_IF_ERROR(CheckActivationsFinite(model, l, "attention block", x, int64_t(n) * hs, hs));
  RmsNormRows(x, lw.ffn_norm, n, hs, c.rms_norm_eps, xn);
  return Status::Ok();
}

}  // namespace

Status DecoderLayerRoute(const Model& model, int l, float* x, int n, int pos0, KvCache& kv,
                         Activations& act, const ExpertMask* mask, RoutingObserver* observer) {
  if (!model.weights().layers[l].is_moe) {
    return Status::FailedPrecondition("{}: layer {} is not a MoE layer; it has no router",
                                      model.dir(), l);
  }
  RETURN_IF_ERROR(AttentionBlock(model, l, x, n, pos0, kv, act, nullptr));
  RouteMoeTokens(model, l, act.xn.data(), n, pos0, mask, observer, act);
  return Status::Ok();
}

Status DecoderLayerForward(const Model& model, int l, float* x, int n, int pos0, KvCache& kv,
                           Activations& act, const ExpertMask* mask, RoutingObserver* observer,
                           ActivationObserver* activations) {
  const ModelConfig& c = model.config();
  const LayerWeights& lw = model.weights().layers[l];
  const int hs = c.hidden_size;
  // 1. attention block: x += Attention(RMSNorm(x)); xn = the feed-forward block's input.
  RETURN_IF_ERROR(AttentionBlock(model, l, x, n, pos0, kv, act, activations));
  float* xn = act.xn.data();
  float* branch = act.branch.data();
  // 2. feed-forward block: x += FFN(RMSNorm(x)); MoE layers route under the mask.
  if (lw.is_moe) {
    MoeForward(model, l, xn, n, pos0, mask, observer, act, branch, activations);
  } else {
    MlpForward(lw.dense, xn, n, act, branch, activations, {l, MlpSite::Kind::kDense});
  }
  AddRows(branch, int64_t(n) * hs, x);
  return CheckActivationsFinite(model, l, "feed-forward block", x, int64_t(n) * hs, hs);
}

}  // namespace moedist
