// Tensor taxonomy: what every tensor of a checkpoint is, per architecture family.
//
// Each tensor name maps to a role: trunk classes (embedding, attention, norm, router weight and
// bias, shared expert, shared-expert gate, dense MLP, lm_head, vision tower) are replicated on
// every node; routed experts are split across nodes. Scale tensors (FP8 `weight_scale_inv`,
// MXFP4 `_scales`) take the class of the weight they scale. An unrecognised name is an error
// naming it — never silently trunk (reliability row 11).
//
// Packed layouts hold all experts of a layer in one tensor along axis 0; PackedExpertViews()
// gives each expert's byte range and, for fused gate/up tensors, the strided part each
// projection owns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "formats/model_config.h"

namespace moedist {

enum class TensorClass {
  kEmbedding,
  kAttention,
  kNorm,
  kRouterWeight,
  kRouterBias,         // router bias or DeepSeek e_score_correction_bias
  kSharedExpert,
  kSharedExpertGate,   // Qwen2-MoE shared_expert_gate
  kDenseMlp,           // MLP of a non-MoE layer
  kRoutedExpert,       // one expert's projection (per-expert layout)
  kRoutedExpertsPacked,  // all experts of a layer along axis 0
  kLmHead,
  kVision,             // multimodal towers and projectors (Llama-4): trunk, not run by runtime-min
};
std::string_view TensorClassName(TensorClass c);
inline bool IsRoutedExpertClass(TensorClass c) {
  return c == TensorClass::kRoutedExpert || c == TensorClass::kRoutedExpertsPacked;
}

enum class ExpertProjection { kNone, kGate, kUp, kDown, kGateUp };
std::string_view ExpertProjectionName(ExpertProjection p);

// What a tensor holds beside plain weights.
enum class TensorPart {
  kWeight,
  kBias,
  kScale,  // FP8 weight_scale_inv / weight_scale / input_scale, MXFP4 _scales
  kBlocks, // MXFP4 packed values (GPT-OSS _blocks)
};

struct TensorRole {
  TensorClass cls;
  int layer = -1;   // -1 for tensors outside the decoder layers
  int expert = -1;  // per-expert layout only
  ExpertProjection projection = ExpertProjection::kNone;
  TensorPart part = TensorPart::kWeight;
};

// Classifies one tensor name for `config`'s family. Also checks the layer and expert indices
// against the config and that routed tensors sit only in MoE layers.
Result<TensorRole> ClassifyTensor(std::string_view name, const ModelConfig& config);

// A strided byte range inside a tensor: `rows` runs of `row_bytes` bytes, the first at
// `offset`, each `row_stride` bytes after the previous. Contiguous when row_stride == row_bytes.
struct StridedBytes {
  uint64_t offset = 0;
  uint64_t row_bytes = 0;
  uint64_t row_stride = 0;
  uint64_t rows = 0;
  uint64_t total() const { return row_bytes * rows; }
};

struct ExpertView {
  int expert;
  ExpertProjection projection;  // kGateUp / kDown for the whole slice, kGate / kUp for parts
  StridedBytes bytes;
  std::vector<uint64_t> shape;  // logical shape of this view
};

// Views of one packed tensor: for each expert, the whole expert slice along axis 0, and for
// fused gate/up tensors also the gate and up parts. Errors if the shape does not match the
// family's packed layout.
Result<std::vector<ExpertView>> PackedExpertViews(const CheckpointTensor& tensor,
                                                  const TensorRole& role,
                                                  const ModelConfig& config);

// Copies a strided view out of `src` (tests, packing).
void GatherStrided(std::span<const uint8_t> src, const StridedBytes& view, uint8_t* dst);

struct ClassifiedTensor {
  const CheckpointTensor* tensor;
  TensorRole role;
};

// Classifies every tensor of `ckpt` and checks shapes against the config and completeness
// (each MoE layer has a router and every expert's projections). The first problem is returned,
// naming the tensor, what was found and what was expected. With `unclassified` given, unknown
// names are collected there instead of failing, so a report can list all of them; the caller
// must still treat a non-empty list as an error.
Result<std::vector<ClassifiedTensor>> ClassifyCheckpoint(
    const Checkpoint& ckpt, std::vector<std::string>* unclassified = nullptr);

}  // namespace moedist
