// Decodes a tensor's raw safetensors bytes of a float element type to f32: the one place that
// knows how each DType widens, so readers and the runtime do not repeat the switch.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"
#include "quant/dtype.h"

namespace moedist {

// Handles F32, F16, BF16, F8_E4M3, F8_E5M2 and F8_E8M0 (elementwise, little-endian bytes).
// Other dtypes are Unsupported (block-scaled FP8 and MXFP4 need their scale tensors: see fp8.h
// and mxfp4.h). `src` must hold exactly out.size() elements (InvalidArgument otherwise).
Status DecodeToF32(DType dtype, std::span<const uint8_t> src, std::span<float> out);

}  // namespace moedist
