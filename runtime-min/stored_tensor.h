// StoredTensor: one checkpoint tensor as runtime-min computes with it: its bytes, its encoding
// (QuantType) and its logical shape, whatever file they came from.
//
// A plain tensor is what its safetensors header says (F32, F16 or BF16). A tensor `moedist
// pack` stored in a ggml block type (docs/formats/bundle.md, "Quantized tensors") is a U8
// tensor of shape [nbytes] whose shard __metadata__ holds, under "moedist.quant.<name inside
// the shard>", a JSON object {"shape": [logical dims], "source_dtype": "BF16", "type": "q4_k"};
// its values are the ggml blocks of rows along the last logical dimension.
// ReadStoredTensor checks all of it (one error per check, naming the tensor and the shard file):
// the metadata parses, names a known type and a non-empty shape, the tensor is U8 and 1-D, and
// its byte count equals the type's size of that shape; a U8 tensor without metadata and a
// metadata entry on a non-U8 tensor are refused too.
// Thread safety: pure functions; the result views the checkpoint's mapping.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "quant/quant_type.h"

namespace moedist {

inline constexpr std::string_view kQuantMetadataKeyPrefix = "moedist.quant.";

struct StoredTensor {
  std::span<const uint8_t> bytes;
  QuantType type = QuantType::kF32;
  std::vector<uint64_t> shape;  // logical: the values' shape, not the bytes'
};

// The tensor's encoding and logical shape (above). Types other than F32, F16, BF16 and the
// moedist.quant block types are Unsupported, naming the tensor and its dtype.
Result<StoredTensor> ReadStoredTensor(const CheckpointTensor& t);

// The parsed value of one moedist.quant.<name> entry (exposed for tests).
struct QuantMetadata {
  QuantType type = QuantType::kF32;
  std::vector<uint64_t> shape;
};
Result<QuantMetadata> ParseQuantMetadata(std::string_view text);

}  // namespace moedist
