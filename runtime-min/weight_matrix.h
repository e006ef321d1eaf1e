// WeightMatrix: a 2-D weight viewed where it lies in the mapped checkpoint (never copied).
//
// The model only ever uses a weight as a linear map from `in` features to `out` features.
// Hugging Face stores nn.Linear weights as [out, in] rows; Llama-4's packed experts store
// [in, out] (they are used as x @ W). `in_major` says which, and `stride` is the distance in
// elements between consecutive stored rows, so a column slice of a fused tensor (Llama-4's
// gate half of gate_up_proj) is a view too.
#pragma once

#include <cstdint>

#include "quant/dtype.h"

namespace moedist {

struct WeightMatrix {
  const uint8_t* data = nullptr;
  DType dtype = DType::kF32;
  int64_t out = 0;
  int64_t in = 0;
  bool in_major = false;  // false: (o, i) at o*stride + i; true: (o, i) at i*stride + o
  int64_t stride = 0;     // elements between stored rows

  bool empty() const { return data == nullptr; }
  int64_t element_bytes() const { return DTypeBits(dtype) / 8; }
  // Start of stored row r (an output row if !in_major, an input row if in_major).
  const uint8_t* row(int64_t r) const { return data + r * stride * element_bytes(); }
};

}  // namespace moedist
