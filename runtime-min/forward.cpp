#include "runtime-min/forward.h"

#include "runtime-min/decoder_layer.h"
#include "runtime-min/kernels.h"

namespace moedist {

Sequence::Sequence(const Model& model) : kv_(MakeKvCache(model.config())) {}

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
  RETURN_IF_ERROR(model.CheckExpertsPresent(opt.mask));
  Activations& act = seq.act();
  seq.kv().Reserve(pos0 + n);
  float* x = Grow(act.x, size_t(n) * hs);

  // 1. token embeddings.
  RETURN_IF_ERROR(EmbedTokens(model, tokens, x));
  // 2-3. each decoder layer: attention block, then feed-forward block (MoE layers route under
  //      the mask), each added to the residual stream and checked for NaN/Inf (decoder_layer.h).
  for (int l = 0; l < c.num_layers; ++l) {
    RETURN_IF_ERROR(DecoderLayerForward(model, l, x, n, pos0, seq.kv(), act, opt.mask, opt.observer,
                                        opt.activations));
  }
  seq.kv().set_length(pos0 + n);
  if (!logits) return Status::Ok();

  // 4. final norm and lm_head, for every token or just the last.
  const int first = opt.all_logits ? 0 : n - 1, rows = n - first;
  float* xn = Grow(act.xn, size_t(rows) * hs);
  RmsNormRows(x + size_t(first) * hs, w.final_norm, rows, hs, c.rms_norm_eps, xn);
  logits->resize(size_t(rows) * c.vocab_size);
  ApplyLinear(w.lm_head, xn, rows, logits->data());
  return Status::Ok();
}

}  // namespace moedist
