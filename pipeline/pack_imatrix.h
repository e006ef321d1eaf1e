// PackImatrix: an importance matrix (formats/imatrix_gguf.h) matched against the checkpoint pack
// reads, giving each tensor the per-column weights llama-quantize would give it.
//
// Every checkpoint weight that llama.cpp names (formats/gguf_tensor_names.h) expects an entry of
// [in_features × matrices] under that name: 1 matrix for a plain tensor, the config's expert
// count for a merged expert tensor ("blk.3.ffn_up_exps.weight"), whose matrix e is expert e.
// An entry naming no such weight, or of another width or matrix count, is refused naming the
// entry and the checkpoint tensor. A tensor's weights are in_sum2 / count of its matrix in f32,
// all 1 when the matrix saw no token (tools/quantize load_imatrix), row_length values long.
// Packed expert tensors (Llama-4's gate_up_proj / down_proj, stored [in, out]) are checked but
// get no weights: their quantized rows run along the output features, and importance is per
// input feature. Thread safety: immutable after Load.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "formats/imatrix_gguf.h"
#include "formats/tensor_taxonomy.h"

namespace moedist {

class PackImatrix {
 public:
  static Result<PackImatrix> Load(const std::string& path, const Checkpoint& ckpt,
                                  const std::vector<ClassifiedTensor>& classified);

  // The weights for checkpoint tensor `name`, or null when the file has none for it.
  std::shared_ptr<const std::vector<float>> For(const std::string& name) const;
  // True for a tensor the file describes but that cannot be weighted (packed experts).
  bool NotApplicable(const std::string& name) const { return not_applicable_.count(name) > 0; }

  const std::string& path() const { return path_; }
  const std::string& sha256() const { return sha256_; }
  size_t entries() const { return entries_; }
  const std::vector<std::string>& datasets() const { return datasets_; }
  uint32_t chunk_count() const { return chunk_count_; }

 private:
  std::string path_, sha256_;
  size_t entries_ = 0;
  std::vector<std::string> datasets_;
  uint32_t chunk_count_ = 0;
  std::map<std::string, std::shared_ptr<const std::vector<float>>> weights_;
  std::set<std::string> not_applicable_;
};

}  // namespace moedist
