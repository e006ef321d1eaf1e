// Checkpoint: a Hugging Face checkpoint directory (config.json plus model.safetensors.index.json
// and its shards, or a single model.safetensors) opened as one set of tensor views.
//
// Opening validates the whole set before anything is handed out (reliability rows 9–10): every
// shard the index names exists and parses strictly, every indexed tensor is in the shard the
// index says, no tensor is in two shards, no shard holds a tensor the index does not list, and
// shard names cannot leave the directory. Shards are mmapped; tensor bytes are views.
// Thread safety: immutable after Open().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "formats/model_config.h"
#include "formats/safetensors_reader.h"

namespace moedist {

struct CheckpointTensor {
  std::string name;
  std::shared_ptr<const SafetensorsFile> shard;
  const SafetensorsTensor* info;  // owned by `shard`
  std::span<const uint8_t> bytes() const { return shard->TensorBytes(*info); }
  DType dtype() const { return info->dtype; }
  const std::vector<uint64_t>& shape() const { return info->shape; }
  uint64_t num_bytes() const { return info->num_bytes(); }
};

class Checkpoint {
 public:
  static Result<std::unique_ptr<Checkpoint>> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const ModelConfig& config() const { return config_; }
  // Shard files in the order of their names.
  const std::vector<std::shared_ptr<const SafetensorsFile>>& shards() const { return shards_; }
  // All tensors sorted by name.
  const std::vector<CheckpointTensor>& tensors() const { return tensors_; }
  const CheckpointTensor* Find(std::string_view name) const;
  uint64_t total_tensor_bytes() const { return total_tensor_bytes_; }
  // Non-fatal observations (e.g. the index's total_size disagrees with the tensors).
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  Checkpoint() = default;
  Status LoadShards(const std::map<std::string, std::vector<std::string>>* index_by_shard,
                    const std::vector<std::string>& shard_names);

  std::string dir_;
  ModelConfig config_;
  std::vector<std::shared_ptr<const SafetensorsFile>> shards_;
  std::vector<CheckpointTensor> tensors_;
  std::map<std::string, size_t, std::less<>> by_name_;
  uint64_t total_tensor_bytes_ = 0;
  std::vector<std::string> warnings_;
};

}  // namespace moedist
