#include "runtime-min/weight_pages.h"

#include <unistd.h>

#include <algorithm>

#include "formats/tensor_taxonomy.h"

namespace moedist {
namespace {

WeightRange RangeOf(const CheckpointTensor& t) {
  return {t.shard->mapping(), t.shard->data_offset() + t.info->data_begin, t.num_bytes()};
}

// Sorts by (file, offset) and merges ranges that touch or overlap.
std::vector<WeightRange> Merge(std::vector<WeightRange> r) {
  std::sort(r.begin(), r.end(), [](const WeightRange& a, const WeightRange& b) {
    return a.file != b.file ? a.file < b.file : a.offset < b.offset;
  });
  std::vector<WeightRange> out;
  for (WeightRange& w : r) {
    if (w.length == 0 || w.file == nullptr) continue;
    if (!out.empty() && out.back().file == w.file &&
        w.offset <= out.back().offset + out.back().length) {
      const uint64_t end = std::max(out.back().offset + out.back().length, w.offset + w.length);
      out.back().length = end - out.back().offset;
    } else {
      out.push_back(std::move(w));
    }
  }
  return out;
}

}  // namespace

uint64_t WeightPages::PageSize() {
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

Result<WeightPages> WeightPages::Build(const Checkpoint& ckpt) {
  const ModelConfig& c = ckpt.config();
  std::vector<std::vector<WeightRange>> layers(c.num_layers);
  std::vector<WeightRange> embedding;
  WeightPages p;
  for (const CheckpointTensor& t : ckpt.tensors()) {
    ASSIGN_OR_RETURN(TensorRole role, ClassifyTensor(t.name, c));
    if (role.layer >= 0 && role.layer < c.num_layers) {
      layers[role.layer].push_back(RangeOf(t));
    } else if (role.cls == TensorClass::kEmbedding) {
      embedding.push_back(RangeOf(t));
      if (!t.shape().empty() && t.shape()[0] > 0)
        p.embedding_row_bytes_ = t.num_bytes() / t.shape()[0];
    }
  }
  for (auto& l : layers) p.layers_.push_back(Merge(std::move(l)));
  p.embedding_ = Merge(std::move(embedding));
  return p;
}

uint64_t WeightPages::PageBytes(const std::vector<WeightRange>& ranges) {
  const uint64_t page = PageSize();
  uint64_t bytes = 0;
  for (const WeightRange& r : ranges) {
    const uint64_t first = r.offset / page, last = (r.offset + r.length + page - 1) / page;
    bytes += (last - first) * page;
  }
  return bytes;
}

uint64_t WeightPages::EmbeddingRowsPageBytes(uint64_t rows) const {
  // A fault on a file mapping also maps the cached pages around it, in aligned windows of
  // fault_around_bytes (64 KiB by default, set in debugfs), so a row brings in the windows it
  // spans: at most ceil(row / window) + 1. Measured on the stream3g benchmark, 7 000 rows of
  // 4 KiB made its whole 128 MiB embedding resident.
  constexpr uint64_t kFaultAroundBytes = 64 << 10;
  const uint64_t window = std::max(PageSize(), kFaultAroundBytes);
  const uint64_t per_row = ((embedding_row_bytes_ + window - 1) / window + 1) * window;
  return std::min(EmbeddingPageBytes(), rows * per_row);
}

void WeightPages::Release(const std::vector<WeightRange>& ranges) {
  for (const WeightRange& r : ranges) r.file->ReleaseRange(r.offset, r.length);
}

}  // namespace moedist
