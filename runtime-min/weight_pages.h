// WeightPages: where each decoder layer's weights lie in the mapped shards, in pages.
//
// Weights are views into mmapped shards (model_weights.h), so the memory a forward pass holds
// is the set of pages it has touched. A layer-major pass (layer_stream.h) touches one layer at
// a time; this index lets it drop that layer's pages when it is done (MappedFile::ReleaseRange)
// and lets callers size the pass before it runs. Ranges are the tensors' byte ranges, merged
// where adjacent in a shard; page counts include the partial pages at both ends.
// Thread safety: immutable after Build(); the Checkpoint must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/mapped_file.h"
#include "core/status.h"
#include "formats/hf_checkpoint.h"

namespace moedist {

struct WeightRange {
  std::shared_ptr<const MappedFile> file;
  uint64_t offset = 0;  // absolute, in the file
  uint64_t length = 0;
};

class WeightPages {
 public:
  // Classifies every tensor of `ckpt` (formats/tensor_taxonomy.h) by decoder layer.
  static Result<WeightPages> Build(const Checkpoint& ckpt);

  int num_layers() const { return static_cast<int>(layers_.size()); }
  // Bytes of the pages holding layer `l`'s tensors.
  uint64_t LayerPageBytes(int l) const { return PageBytes(layers_[l]); }
  // Bytes of the pages holding the token embedding, and the bytes of one of its rows.
  uint64_t EmbeddingPageBytes() const { return PageBytes(embedding_); }
  uint64_t embedding_row_bytes() const { return embedding_row_bytes_; }
  // Upper bound on the embedding pages that `rows` distinct rows make resident.
  uint64_t EmbeddingRowsPageBytes(uint64_t rows) const;

  // Drops a layer's (the embedding's) pages from memory after their last use.
  void ReleaseLayer(int l) const { Release(layers_[l]); }
  void ReleaseEmbedding() const { Release(embedding_); }

  static uint64_t PageSize();

 private:
  static uint64_t PageBytes(const std::vector<WeightRange>& ranges);
  static void Release(const std::vector<WeightRange>& ranges);

  std::vector<std::vector<WeightRange>> layers_;  // [layer] merged ranges
  std::vector<WeightRange> embedding_;
  uint64_t embedding_row_bytes_ = 0;
};

}  // namespace moedist
