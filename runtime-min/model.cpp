#include "runtime-min/model.h"

namespace moedist {

Result<std::unique_ptr<Model>> Model::Open(const std::string& dir) {
  std::unique_ptr<Model> m(new Model());
  ASSIGN_OR_RETURN(m->ckpt_, Checkpoint::Open(dir));
  const ModelConfig& c = m->ckpt_->config();
  auto context = [&](const Status& s) { return s.WithContext(dir); };
  Result<RuntimeConfig> rc = ReadRuntimeConfig(c);
  if (!rc.ok()) return context(rc.status());
  m->runtime_ = std::move(rc).value();
  const bool mla = c.attention.kind == AttentionKind::kMla;
  // Llama-4 rotates adjacent pairs (complex view); DeepSeek's interleaved rope is the same
  // rotation up to a permutation shared by q and k.
  const bool pairs = c.family == Family::kLlama4 || (mla && c.attention.rope_interleave);
  Result<Rope> rope = MakeRope(c.attention, mla ? c.attention.qk_rope_head_dim : c.attention.head_dim,
                               pairs, m->runtime_.max_position_embeddings);
  if (!rope.ok()) return context(rope.status());
  m->rope_ = std::move(rope).value();
  Result<ModelWeights> w = LoadModelWeights(*m->ckpt_);
  if (!w.ok()) return context(w.status());
  m->weights_ = std::move(w).value();
  return m;
}

}  // namespace moedist
