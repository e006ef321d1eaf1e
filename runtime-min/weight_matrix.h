// WeightMatrix: a 2-D weight viewed where it lies (a mapped safetensors shard, a GGUF file, an
// assembled stack), never copied: a pointer, an encoding (QuantType) and a shape.
//
// The model only ever uses a weight as a linear map from `in` features to `out` features.
// Hugging Face stores nn.Linear weights as [out, in] rows; Llama-4's packed experts store
// [in, out] (they are used as x @ W). `in_major` says which. Stored rows follow each other
// `row_bytes` apart; a view may start `col_offset` values into each stored row, so a column
// slice of a fused tensor (Llama-4's up half of gate_up_proj) is a view too.
//
// Encodings: F32, F16, BF16 (one value per element) or a ggml block type (q8_0, q4_0, q2_k,
// q3_k, q4_k, q5_k, q6_k; docs/formats/quant.md). Block types encode each stored row as
// consecutive independent blocks along the row, so any run of a row's values decodes from the
// blocks that cover it; a view's col_offset need not fall on a block boundary.
// Thread safety: a plain value; the bytes it points at must outlive it and not change.
#pragma once

#include <cstdint>

#include "quant/quant_type.h"

namespace moedist {

struct WeightMatrix {
  const uint8_t* data = nullptr;     // start of stored row 0
  QuantType type = QuantType::kF32;  // encoding of every stored row
  int64_t out = 0;
  int64_t in = 0;
  bool in_major = false;   // false: stored row o holds (o, 0..in); true: stored row i, (0..out, i)
  int64_t row_bytes = 0;   // bytes from one stored row to the next
  int64_t col_offset = 0;  // values of each stored row before this view's first column

  bool empty() const { return data == nullptr; }
  int64_t stored_rows() const { return in_major ? in : out; }
  int64_t row_values() const { return in_major ? out : in; }  // the view's part of a stored row
  const uint8_t* row(int64_t r) const { return data + r * row_bytes; }
};

// dst[0..count) = values [begin, begin + count) of the view's stored row r, widened to f32
// (col_offset is added here). For block types, only the blocks covering the range are decoded,
// each exactly as quant/'s DequantizeRow does. The caller keeps r and the range inside the view.
void DecodeWeightRow(const WeightMatrix& w, int64_t r, int64_t begin, int64_t count, float* dst);

}  // namespace moedist
