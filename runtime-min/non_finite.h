// Non-finite values: a forward pass that produces NaN or Inf stops with an error that says where.
//
// Checking every weight at load time would read the whole model; checking activations is cheap
// (n × hidden floats per block). So Forward() checks the residual stream after the embedding and
// after each block, and only when a value has gone bad does it scan that layer's weights, to say
// whether a tensor holds NaN/Inf (a corrupt checkpoint) or the arithmetic overflowed.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"
#include "runtime-min/model.h"

namespace moedist {

// Ok when x[0..count) are all finite. Otherwise an error naming the layer (-1: before the
// decoder layers), the block, the token row (rows of `row_length` values) and, if one of the
// layer's float weights holds a non-finite value, that tensor, its file and element index.
Status CheckActivationsFinite(const Model& model, int layer, std::string_view block,
                              const float* x, int64_t count, int64_t row_length);

}  // namespace moedist
