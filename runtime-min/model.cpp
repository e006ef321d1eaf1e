#include "runtime-min/model.h"

#include <algorithm>

#include "runtime-min/gguf_model_loader.h"

namespace moedist {

Result<std::unique_ptr<Model>> Model::Open(const std::string& dir) {
  return Open(dir, CheckpointOpenOptions{});
}

Result<std::unique_ptr<Model>> Model::Open(const std::string& dir,
                                           const CheckpointOpenOptions& options) {
  std::unique_ptr<Model> m(new Model());
  ASSIGN_OR_RETURN(m->ckpt_, Checkpoint::Open(dir, options));
  auto context = [&](const Status& s) { return s.WithContext(dir); };
  RETURN_IF_ERROR(m->InitRuntime(dir));
  const bool node_bundle = !options.release_root.empty();
  Result<ModelWeights> w = LoadModelWeights(*m->ckpt_, {.experts_may_be_absent = node_bundle});
  if (!w.ok()) return context(w.status());
  m->weights_ = std::move(w).value();
  return m;
}

Status Model::InitRuntime(const std::string& source) {
  const ModelConfig& c = config();
  auto context = [&](const Status& s) { return s.WithContext(source); };
  Result<RuntimeConfig> rc = ReadRuntimeConfig(c);
  if (!rc.ok()) return context(rc.status());
  runtime_ = std::move(rc).value();
  const bool mla = c.attention.kind == AttentionKind::kMla;
  // Llama-4 rotates adjacent pairs (complex view); DeepSeek's interleaved rope is the same
  // rotation up to a permutation shared by q and k.
  const bool pairs = c.family == Family::kLlama4 || (mla && c.attention.rope_interleave);
  Result<Rope> rope =
      MakeRope(c.attention, mla ? c.attention.qk_rope_head_dim : c.attention.head_dim, pairs,
               runtime_.max_position_embeddings);
  if (!rope.ok()) return context(rope.status());
  rope_ = std::move(rope).value();
  return Status::Ok();
}

const ModelConfig& Model::config() const {
  return ckpt_ ? ckpt_->config() : gguf_->config;
}

const std::string& Model::dir() const {
  return ckpt_ ? ckpt_->dir() : gguf_dir_;
}

Status Model::CheckExpertsPresent(const ExpertMask* mask, int num_layers) const {
  const size_t layers = num_layers < 0 ? weights_.layers.size()
                                       : std::min(weights_.layers.size(), size_t(num_layers));
  for (size_t l = 0; l < layers; ++l) {
    const uint8_t* allowed = mask ? mask->allowed(static_cast<int>(l)) : nullptr;
    for (int e : weights_.layers[l].moe.absent) {
      if (allowed && !allowed[e]) continue;
      return Status::FailedPrecondition(
          "{}: layer {} expert {} is not in this node bundle; run it with the node's expert "
          "mask (expert_mask.json)",
          dir(), l, e);
    }
  }
  return Status::Ok();
}

}  // namespace moedist
