// A node GGUF written by `moedist pack --format gguf|both` (docs/formats/gguf.md), opened as the
// Hugging Face-named tensors runtime-min binds, so the same weight loader and forward pass run
// it and `validate` covers GGUF nodes too.
//
// The model is rebuilt from the file alone: moedist.hf_config holds the node's config.json (the
// expert count is the node's: the GGUF router is always sliced). Names map back through
// formats/gguf_tensor_names.h. Almost every tensor is a view into the mapped file: a merged
// expert tensor [n_expert, out, in] gives one [out, in] view per expert; widened 1-D tensors
// are read as F32 (the values are the original BF16/F16 ones, so results do not change).
// Two layouts llama.cpp wants differently are copied back, exactly, into owned buffers:
// Mixtral's q/k rows (the inverse of the export's per-head permutation) and Llama-4's packed
// experts (gate/up/down transposed back to [E, H, 2I] and [E, I, H]).
// A GGUF without moedist.hf_config is refused: runtime-min does not guess a config from
// llama.cpp's keys. Thread safety: immutable after Open.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "formats/gguf_reader.h"
#include "formats/model_config.h"
#include "runtime-min/stored_tensor.h"

namespace moedist {

struct GgufNodeTensors {
  std::string path;
  std::shared_ptr<const GgufFile> file;
  ModelConfig config;                           // parsed from moedist.hf_config
  std::map<std::string, StoredTensor> tensors;  // Hugging Face name -> view
  std::vector<std::vector<uint8_t>> owned;      // buffers some views point into
};

// True when `path` names a file that starts with the GGUF magic.
bool LooksLikeGguf(const std::string& path);

Result<std::unique_ptr<GgufNodeTensors>> OpenGgufNodeTensors(const std::string& path);

}  // namespace moedist
