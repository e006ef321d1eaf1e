#include "runtime-min/non_finite.h"

#include <cmath>
#include <optional>
#include <vector>

#include "formats/tensor_taxonomy.h"
#include "runtime-min/kernels.h"

namespace moedist {
namespace {

bool IsWidenable(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16;
}

// Index of the first non-finite element of a float tensor, widened in chunks so memory stays
// bounded by the chunk, not the tensor.
std::optional<uint64_t> FirstNonFinite(const CheckpointTensor& t) {
  const DType dtype = t.info->dtype;
  const uint64_t elem = DTypeBits(dtype) / 8, count = t.num_bytes() / elem;
  const uint8_t* data = t.bytes().data();
  constexpr uint64_t kChunk = 1 << 16;
  std::vector<float> buf(kChunk);
  for (uint64_t start = 0; start < count; start += kChunk) {
    const uint64_t n = std::min(kChunk, count - start);
    ConvertToF32(data + start * elem, dtype, static_cast<int64_t>(n), buf.data());
    for (uint64_t i = 0; i < n; ++i) {
      if (!std::isfinite(buf[i])) return start + i;
    }
  }
  return std::nullopt;
}

// The first tensor of `layer` (or outside the layers, for -1) holding a non-finite value.
std::string DescribeBadWeight(const Model& model, int layer) {
  // A GGUF node has no Checkpoint to scan (its tensors carry llama.cpp names).
  if (model.is_gguf()) return "";
  const Checkpoint& ckpt = model.checkpoint();
  for (const CheckpointTensor& t : ckpt.tensors()) {
    if (!IsWidenable(t.info->dtype)) continue;
    Result<TensorRole> role = ClassifyTensor(t.name, ckpt.config());
    if (!role.ok() || role->layer != layer) continue;
    if (std::optional<uint64_t> at = FirstNonFinite(t)) {
      return fmt::format("; tensor \"{}\" in {} holds a non-finite value at element {}", t.name,
                         t.shard->path(), *at);
    }
  }
  return layer < 0 ? "; no embedding-level weight is non-finite"
                   : fmt::format("; no float weight of layer {} is non-finite, so the values "
                                 "overflowed in the arithmetic",
                                 layer);
}

}  // namespace

Status CheckActivationsFinite(const Model& model, int layer, std::string_view block,
                              const float* x, int64_t count, int64_t row_length) {
  for (int64_t i = 0; i < count; ++i) {
    if (std::isfinite(x[i])) continue;
    const std::string where = layer < 0 ? std::string(block)
                                        : fmt::format("layer {} {}", layer, block);
    return Status::Corruption("{}: non-finite activation ({}) at token {} of this call{}", where,
                              x[i], i / row_length, DescribeBadWeight(model, layer));
  }
  return Status::Ok();
}

}  // namespace moedist
