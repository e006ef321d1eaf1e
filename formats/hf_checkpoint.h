// Checkpoint: a Hugging Face checkpoint directory (config.json plus model.safetensors.index.json
// and its shards, or a single model.safetensors) opened as one set of tensor views.
//
// Opening validates the whole set before anything is handed out (reliability rows 9–10): every
// shard the index names exists and parses strictly, every indexed tensor is in the shard the
// index says, no tensor is in two shards, no shard holds a tensor the index does not list, and
// shard names cannot leave the directory. Shards are mmapped; tensor bytes are views.
//
// Node bundles of a moedist release (docs/formats/bundle.md) use an extension of the index:
// shards in sibling bundle directories ("../trunk/model-00001-of-00003.safetensors"), tensors
// exposed under another name than the one inside their shard ("moedist_aliases"), and tensors
// assembled from byte ranges of others ("moedist_stacks", packed experts). It is accepted only
// when the caller opts in with CheckpointOpenOptions::release_root; the default Open refuses it.
// Thread safety: immutable after Open().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_sink.h"
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
  // Streams bytes [offset, offset+length) of the tensor's data to `sink` through a buffer
  // (MappedFile::CopyTo): for bytes copied unchanged into a file, much cheaper than writing
  // bytes() itself.
  Status CopyBytesTo(uint64_t offset, uint64_t length, ByteSink& sink) const;
};

// One byte range of a tensor inside a shard: a piece of a stacked tensor.
struct CheckpointStackPart {
  std::string shard;   // as the index spells it ("../group-0/model-00001-of-00001.safetensors")
  std::string tensor;  // name inside that shard
  uint64_t begin = 0;  // byte range within the tensor's data
  uint64_t end = 0;
};

// A tensor the node index assembles from parts, in order (node-index extension).
struct CheckpointStack {
  DType dtype = DType::kU8;
  std::vector<uint64_t> shape;
  std::vector<CheckpointStackPart> parts;
  std::map<std::string, std::string> metadata;  // copied into the assembled shard's __metadata__
};

// The parsed model.safetensors.index.json: which tensors each shard holds.
struct CheckpointIndex {
  std::map<std::string, std::vector<std::string>> tensors_by_shard;
  std::optional<uint64_t> total_size;  // metadata.total_size, when present and non-negative
  // Node-index extension; only ParseNodeCheckpointIndex fills these.
  std::map<std::string, std::string> aliases;     // exposed name -> name inside its shard
  std::map<std::string, CheckpointStack> stacks;  // exposed name -> assembled tensor
};

// Parses index text (a JSON object with a non-empty "weight_map" of tensor -> plain shard file
// name). `source` names the index in errors. Exposed for the fuzz target. An index that uses
// the node-index extension is refused, naming the key.
Result<CheckpointIndex> ParseCheckpointIndex(std::string_view text, const std::string& source);

// Parses a node bundle's index: as ParseCheckpointIndex, but a shard may also be spelled
// "../<bundle>/<file>" (both single plain components), and "moedist_aliases" / "moedist_stacks"
// are read (docs/formats/bundle.md). "weight_map" may be empty when every tensor is stacked.
Result<CheckpointIndex> ParseNodeCheckpointIndex(std::string_view text, const std::string& source);

struct CheckpointOpenOptions {
  // Empty: strict (plain shard names in `dir`, no extension). Otherwise `dir` is a node bundle
  // strictly inside this release directory: the node-index extension is accepted, every shard
  // must resolve inside release_root, and symlinks (shard files, bundle directories) are refused.
  std::string release_root;
};

class Checkpoint {
 public:
  static Result<std::unique_ptr<Checkpoint>> Open(const std::string& dir);
  static Result<std::unique_ptr<Checkpoint>> Open(const std::string& dir,
                                                  const CheckpointOpenOptions& options);

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
  // The node-index form: only the tensors the index names are exposed (docs/formats/bundle.md).
  Status LoadNodeShards(const CheckpointIndex& index, const std::string& index_path,
                        const std::string& release_root);

  std::string dir_;
  ModelConfig config_;
  std::vector<std::shared_ptr<const SafetensorsFile>> shards_;
  std::vector<CheckpointTensor> tensors_;
  std::map<std::string, size_t, std::less<>> by_name_;
  uint64_t total_tensor_bytes_ = 0;
  std::vector<std::string> warnings_;
};

}  // namespace moedist
