#include "quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/ggml_blocks.h"
#include "quant/ggml_kernels.h"
#include "quant/half_float.h"

namespace moedist {
namespace {

Status CheckFinite(QuantType type, std::span<const float> src) {
  for (size_t i = 0; i < src.size(); ++i) {
    if (!std::isfinite(src[i])) {
      return Status::InvalidArgument(
          "{}: input value {} is {}; refusing to quantize non-finite "
          "values",
          QuantTypeName(type), i, src[i]);
    }
  }
  return Status::Ok();
}

// Blocks of dst.size() values: checks the length against the block and src against its bytes.
Result<size_t> CheckEncoded(QuantType type, size_t values, size_t bytes, const char* what) {
  ASSIGN_OR_RETURN(uint64_t expected, QuantRowBytes(type, values));
  if (bytes != expected) {
    return Status::InvalidArgument("{} {}: {} values need {} bytes, buffer holds {}", what,
                                   QuantTypeName(type), values, expected, bytes);
  }
  return values / GetQuantTypeInfo(type).block_elements;
}

void Encode(QuantType type, const float* x, uint8_t* out, size_t nb) {
  switch (type) {
    case QuantType::kF32: std::memcpy(out, x, nb * sizeof(float)); return;
    case QuantType::kF16:
      for (size_t i = 0; i < nb; ++i) {
        const uint16_t h = F32ToF16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return;
    case QuantType::kBF16:
      for (size_t i = 0; i < nb; ++i) {
        const uint16_t h = F32ToBF16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return;
    case QuantType::kQ8_0: kernels::QuantizeQ8_0(x, out, nb); return;
    case QuantType::kQ4_0: kernels::QuantizeQ4_0(x, out, nb); return;
    case QuantType::kQ4_K: kernels::QuantizeQ4_K(x, out, nb); return;
    case QuantType::kQ6_K: kernels::QuantizeQ6_K(x, out, nb); return;
    case QuantType::kQ5_K: kernels::QuantizeQ5_K(x, out, nb); return;
    case QuantType::kQ3_K: kernels::QuantizeQ3_K(x, out, nb); return;
    case QuantType::kQ2_K: kernels::QuantizeQ2_K(x, out, nb); return;
  }
}

void Decode(QuantType type, const uint8_t* in, float* y, size_t nb) {
  switch (type) {
    case QuantType::kF32: std::memcpy(y, in, nb * sizeof(float)); return;
    case QuantType::kF16:
      for (size_t i = 0; i < nb; ++i)
        y[i] = F16ToF32(static_cast<uint16_t>(in[2 * i] | in[2 * i + 1] << 8));
      return;
    case QuantType::kBF16:
      for (size_t i = 0; i < nb; ++i)
        y[i] = BF16ToF32(static_cast<uint16_t>(in[2 * i] | in[2 * i + 1] << 8));
      return;
    case QuantType::kQ8_0: kernels::DequantizeQ8_0(in, y, nb); return;
    case QuantType::kQ4_0: kernels::DequantizeQ4_0(in, y, nb); return;
    case QuantType::kQ4_K: kernels::DequantizeQ4_K(in, y, nb); return;
    case QuantType::kQ6_K: kernels::DequantizeQ6_K(in, y, nb); return;
    case QuantType::kQ5_K: kernels::DequantizeQ5_K(in, y, nb); return;
    case QuantType::kQ3_K: kernels::DequantizeQ3_K(in, y, nb); return;
    case QuantType::kQ2_K: kernels::DequantizeQ2_K(in, y, nb); return;
  }
}

// The importance-weighted quantizer of `type`, one row at a time; nullptr where ggml's
// quantize_<type> ignores the weights (its plain quantizer is then the answer).
using WeightedRowFn = void (*)(const float* x, const float* importance, uint8_t* out, size_t n);
WeightedRowFn WeightedQuantizer(QuantType type) {
  switch (type) {
    case QuantType::kQ4_0: return kernels::QuantizeRowQ4_0Weighted;
    case QuantType::kQ2_K: return kernels::QuantizeRowQ2_KWeighted;
    case QuantType::kQ3_K: return kernels::QuantizeRowQ3_KWeighted;
    case QuantType::kQ4_K: return kernels::QuantizeRowQ4_KWeighted;
    case QuantType::kQ5_K: return kernels::QuantizeRowQ5_KWeighted;
    case QuantType::kQ6_K: return kernels::QuantizeRowQ6_KWeighted;
    default: return nullptr;
  }
}

// Importance weights are mean squares of activations: a NaN, an infinity or a negative one is
// a broken imatrix, refused rather than folded into the scale searches.
Status CheckImportance(QuantType type, std::span<const float> importance, uint64_t row_length) {
  if (importance.size() != row_length) {
    return Status::InvalidArgument("{}: {} importance weights for rows of {} values",
                                   QuantTypeName(type), importance.size(), row_length);
  }
  for (size_t i = 0; i < importance.size(); ++i) {
    if (!std::isfinite(importance[i]) || importance[i] < 0) {
      return Status::InvalidArgument("{}: importance weight {} is {}; expected a finite value >= 0",
                                     QuantTypeName(type), i, importance[i]);
    }
  }
  return Status::Ok();
}

// Validates a QuantizeRows call; returns the number of blocks.
Result<size_t> CheckRows(QuantType type, std::span<const float> src, uint64_t row_length,
                         std::span<uint8_t> dst) {
  const QuantTypeInfo& info = GetQuantTypeInfo(type);
  if (row_length == 0 || row_length % info.block_elements != 0) {
    return Status::InvalidArgument(
        "{}: row length {} is not a positive multiple of the block "
        "size {}",
        info.name, row_length, info.block_elements);
  }
  if (src.size() % row_length != 0) {
    return Status::InvalidArgument("{}: {} input values are not whole rows of {}", info.name,
                                   src.size(), row_length);
  }
  ASSIGN_OR_RETURN(size_t nb, CheckEncoded(type, src.size(), dst.size(), "quantize"));
  RETURN_IF_ERROR(CheckFinite(type, src));
  return nb;
}

}  // namespace

Status QuantizeRows(QuantType type, std::span<const float> src, uint64_t row_length,
                    std::span<uint8_t> dst) {
  ASSIGN_OR_RETURN(size_t nb, CheckRows(type, src, row_length, dst));
  Encode(type, src.data(), dst.data(), nb);
  return Status::Ok();
}

Status QuantizeRowsWeighted(QuantType type, std::span<const float> src, uint64_t row_length,
                            std::span<const float> importance, std::span<uint8_t> dst) {
  ASSIGN_OR_RETURN(size_t nb, CheckRows(type, src, row_length, dst));
  const WeightedRowFn weighted = WeightedQuantizer(type);
  if (importance.empty() || weighted == nullptr) {
    if (!importance.empty()) RETURN_IF_ERROR(CheckImportance(type, importance, row_length));
    Encode(type, src.data(), dst.data(), nb);
    return Status::Ok();
  }
  RETURN_IF_ERROR(CheckImportance(type, importance, row_length));
  const size_t row_bytes = dst.size() / (src.size() / row_length);
  for (size_t r = 0; r < src.size() / row_length; ++r) {
    weighted(src.data() + r * row_length, importance.data(), dst.data() + r * row_bytes,
             row_length);
  }
  return Status::Ok();
}

Status QuantizeRow(QuantType type, std::span<const float> src, std::span<uint8_t> dst) {
  if (src.empty()) return CheckEncoded(type, 0, dst.size(), "quantize").status();
  return QuantizeRows(type, src, src.size(), dst);
}

Status DequantizeRow(QuantType type, std::span<const uint8_t> src, std::span<float> dst) {
  ASSIGN_OR_RETURN(size_t nb, CheckEncoded(type, dst.size(), src.size(), "dequantize"));
  Decode(type, src.data(), dst.data(), nb);
  return Status::Ok();
}

Result<float> DotRow(QuantType type, std::span<const uint8_t> row, std::span<const float> x) {
  ASSIGN_OR_RETURN(size_t nb, CheckEncoded(type, x.size(), row.size(), "dot"));
  const QuantTypeInfo& info = GetQuantTypeInfo(type);
  // Dequantize a chunk of at most 256 values onto the stack, then a multiply-add with 8
  // independent partial sums (which lets the compiler vectorise it without -ffast-math).
  const size_t per_chunk = std::max<size_t>(1, kQkK / info.block_elements);
  float total = 0.0f;
  float tmp[kQkK];
  for (size_t b = 0; b < nb; b += per_chunk) {
    const size_t blocks = std::min(per_chunk, nb - b);
    const size_t n = blocks * info.block_elements;
    Decode(type, row.data() + b * info.block_bytes, tmp, blocks);
    const float* xs = x.data() + b * info.block_elements;
    float acc[8] = {};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      for (int k = 0; k < 8; ++k) acc[k] += tmp[i + k] * xs[i + k];
    }
    for (; i < n; ++i) acc[0] += tmp[i] * xs[i];
    total += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  }
  return total;
}

}  // namespace moedist
