// Streaming conversion of checkpoint tensors into the encodings a recipe asks for, for pack.
//
// A tensor is viewed as 2-D [rows, row_length] (row_length = the last dimension, 1 for 1-D
// tensors), and an output is a list of row ranges taken from it in order: a whole tensor is one
// range, one expert of a packed tensor is one range, a router sliced to a node's experts is one
// range per expert. "keep" copies the ranges' bytes; anything else decodes them to f32 (FP8
// block-scaled weights through their scale_inv), then encodes with quant/ (byte-identical to
// ggml; with an importance per column — pack --imatrix — byte-identical to ggml's
// quantize_<type>(..., imatrix)). Work goes through a few MiB of reused per-thread buffers, and the
// pages of the source mapping are released after each piece, so memory stays bounded whatever the
// tensor's size. Non-finite values are refused when a tensor is converted (reliability row 38);
// "keep" copies bytes without looking at them. Thread safety: functions may run on many threads at
// once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/byte_sink.h"
#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "pipeline/pack_recipe.h"

namespace moedist {

struct RowRange {
  uint64_t begin = 0;
  uint64_t end = 0;
};

struct ConvertInput {
  const CheckpointTensor* tensor = nullptr;
  // FP8 block-scaled weights (DeepSeek-V3 weight_scale_inv): the scales and their block shape.
  const CheckpointTensor* scale_inv = nullptr;
  uint32_t scale_block_rows = 128;
  uint32_t scale_block_cols = 128;
  std::vector<RowRange> ranges;  // empty: the whole tensor
  // Block types: one importance per column (row_length values, pack_imatrix.h) weighting every
  // row's quantization error; null: unweighted.
  std::shared_ptr<const std::vector<float>> importance;
};

// Rows and row length of `t` seen as 2-D.
uint64_t TensorRowLength(const CheckpointTensor& t);
uint64_t TensorRows(const CheckpointTensor& t);

// Bytes the converted ranges take when stored as `stored`.
Result<uint64_t> ConvertedBytes(const ConvertInput& in, const RecipeType& stored);

// Writes exactly ConvertedBytes(in, stored) bytes to `sink`.
Status ConvertRows(const ConvertInput& in, const RecipeType& stored, ByteSink& sink);

// The f32 values of rows [begin, end) of `in.tensor` (scales applied): for tests and checks.
Status DecodeRowsToF32(const ConvertInput& in, uint64_t begin, uint64_t end, float* out);

}  // namespace moedist
