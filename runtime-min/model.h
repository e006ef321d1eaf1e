// Model: an opened checkpoint ready to run — config, runtime settings, RoPE tables and the
// weights as views into the mapped shards.
// Thread safety: immutable after Open(); several Sequences may share one Model, but Forward()
// calls must not overlap (they share the default thread pool).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "runtime-min/model_weights.h"
#include "runtime-min/rope.h"
#include "runtime-min/runtime_config.h"

namespace moedist {

class Model {
 public:
  // Opens a Hugging Face checkpoint directory (config.json + safetensors shards).
  static Result<std::unique_ptr<Model>> Open(const std::string& dir);

  const ModelConfig& config() const { return ckpt_->config(); }
  const RuntimeConfig& runtime() const { return runtime_; }
  const ModelWeights& weights() const { return weights_; }
  const Rope& rope() const { return rope_; }
  const Checkpoint& checkpoint() const { return *ckpt_; }
  const std::string& dir() const { return ckpt_->dir(); }

 private:
  Model() = default;
  std::unique_ptr<Checkpoint> ckpt_;  // owns the mappings the weights point into
  RuntimeConfig runtime_;
  ModelWeights weights_;
  Rope rope_;
};

}  // namespace moedist
