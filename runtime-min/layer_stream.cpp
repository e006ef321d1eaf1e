#include "runtime-min/layer_stream.h"

#include <algorithm>

#include "runtime-min/activations.h"
#include "runtime-min/decoder_layer.h"
#include "runtime-min/kv_cache.h"

namespace moedist {
namespace {

Status CheckPrompts(const ModelConfig& c, std::span<const std::vector<int32_t>> prompts) {
  for (size_t p = 0; p < prompts.size(); ++p) {
    if (prompts[p].empty()) return Status::InvalidArgument("prompt {} has no tokens", p);
    for (size_t t = 0; t < prompts[p].size(); ++t) {
      const int32_t id = prompts[p][t];
      if (id < 0 || id >= c.vocab_size) {
        return Status::InvalidArgument(
            "prompt {}: token id {} at index {} is out of range (vocab_size {})", p, id, t,
            c.vocab_size);
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status ForwardLayerMajor(const Model& model, std::span<const std::vector<int32_t>> prompts,
                         const LayerStreamOptions& opt) {
  const ModelConfig& c = model.config();
  const int hs = c.hidden_size;
  const int last =
      opt.last_layer < 0 ? c.num_layers - 1 : std::min(opt.last_layer, c.num_layers - 1);
  RETURN_IF_ERROR(CheckPrompts(c, prompts));
  RETURN_IF_ERROR(model.CheckExpertsPresent(opt.mask, opt.route_only_last_layer ? last : -1));
  // Row offset of each prompt in the residual stream, and the longest prompt.
  std::vector<size_t> first_row(prompts.size() + 1, 0);
  int longest = 0;
  for (size_t p = 0; p < prompts.size(); ++p) {
    first_row[p + 1] = first_row[p] + prompts[p].size();
    longest = std::max(longest, static_cast<int>(prompts[p].size()));
  }

  // 1. token embeddings of every prompt: the residual stream [tokens, H].
  std::vector<float> stream(first_row.back() * hs);
  for (size_t p = 0; p < prompts.size(); ++p) {
    float* x = stream.data() + first_row[p] * hs;
    Status st = EmbedTokens(model, prompts[p], x);
    if (!st.ok()) return st.WithContext(fmt::format("prompt {}", p));
  }
  if (opt.release) opt.release->ReleaseEmbedding();

  // 2. each layer over every prompt (decoder_layer.h), keys and values of this layer only.
  Activations act;
  KvCache kv = MakeKvCache(c);  // one layer at a time: ReserveLayer / ReleaseLayer
  for (int l = 0; l <= last; ++l) {
    kv.ReserveLayer(l, longest);
    for (size_t p = 0; p < prompts.size(); ++p) {
      if (opt.on_prompt) opt.on_prompt(l, p);
      float* x = stream.data() + first_row[p] * hs;
      const int n = static_cast<int>(prompts[p].size());
      Status st = opt.route_only_last_layer && l == last
                      ? DecoderLayerRoute(model, l, x, n, 0, kv, act, opt.mask, opt.observer)
                      : DecoderLayerForward(model, l, x, n, 0, kv, act, opt.mask, opt.observer,
                                            opt.activations);
      if (!st.ok()) return st.WithContext(fmt::format("prompt {}", p));
    }
    kv.ReleaseLayer(l);
    // 3. this layer's weights are not needed again.
    if (opt.release) opt.release->ReleaseLayer(l);
    if (opt.on_layer_done) RETURN_IF_ERROR(opt.on_layer_done(l));
  }
  return Status::Ok();
}

}  // namespace moedist
