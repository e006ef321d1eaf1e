// Model: an opened checkpoint ready to run — config, runtime settings, RoPE tables and the
// weights as views into the mapped shards.
// Thread safety: immutable after Open(); several Sequences may share one Model, but Forward()
// calls must not overlap (they share the default thread pool).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/model_weights.h"
#include "runtime-min/rope.h"
#include "runtime-min/runtime_config.h"

namespace moedist {

struct GgufNodeTensors;  // gguf_model_loader.h

class Model {
 public:
  // Opens a Hugging Face checkpoint directory (config.json + safetensors shards).
  static Result<std::unique_ptr<Model>> Open(const std::string& dir);
  // Opens with Checkpoint's options. With a release_root, `dir` is a node bundle of that release
  // (docs/formats/bundle.md): its index may point into sibling bundles, its tensors may be
  // quantized, and in mask mode the routed experts it does not hold are absent; Forward then
  // needs a mask that excludes them (CheckExpertsPresent).
  static Result<std::unique_ptr<Model>> Open(const std::string& dir,
                                             const CheckpointOpenOptions& options);
  // Opens a node GGUF written by `moedist pack --format gguf|both` (gguf_model_loader.h): the
  // config and every weight come from the file; its router is already sliced, so no mask is
  // needed. Defined in gguf_model_loader.cpp.
  static Result<std::unique_ptr<Model>> OpenGguf(const std::string& path);

  // Ok when every expert `mask` allows (every expert, when mask is null) is loaded in layers
  // [0, num_layers) (-1: every layer); otherwise FailedPrecondition naming the first layer and
  // expert the model lacks.
  Status CheckExpertsPresent(const ExpertMask* mask, int num_layers = -1) const;

  const ModelConfig& config() const;
  const RuntimeConfig& runtime() const { return runtime_; }
  const ModelWeights& weights() const { return weights_; }
  const Rope& rope() const { return rope_; }
  const Checkpoint& checkpoint() const { return *ckpt_; }  // not for OpenGguf models
  bool is_gguf() const { return ckpt_ == nullptr; }
  const std::string& dir() const;  // the checkpoint directory (a GGUF's directory)

 private:
  Model() = default;
  // Sets runtime_ and rope_ from config(); `source` names the model in errors.
  Status InitRuntime(const std::string& source);

  std::unique_ptr<Checkpoint> ckpt_;             // owns the mappings the weights point into
  std::shared_ptr<const GgufNodeTensors> gguf_;  // or this does (OpenGguf)
  std::string gguf_dir_;
  RuntimeConfig runtime_;
  ModelWeights weights_;
  Rope rope_;
};

}  // namespace moedist
