#include "quant/decode_f32.h"

#include <cstring>

#include "quant/fp8.h"
#include "quant/half_float.h"

namespace moedist {
namespace {

template <typename Fn>
void Widen16(std::span<const uint8_t> src, std::span<float> out, Fn fn) {
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = fn(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8)));
  }
}

template <typename Fn>
void Widen8(std::span<const uint8_t> src, std::span<float> out, Fn fn) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = fn(src[i]);
}

}  // namespace

Status DecodeToF32(DType dtype, std::span<const uint8_t> src, std::span<float> out) {
  size_t width = 0;
  switch (dtype) {
    case DType::kF32: width = 4; break;
    case DType::kF16:
    case DType::kBF16: width = 2; break;
    case DType::kF8E4M3:
    case DType::kF8E5M2:
    case DType::kF8E8M0: width = 1; break;
    default:
      return Status::Unsupported("decode {} to f32: not an elementwise float type",
                                 DTypeName(dtype));
  }
  if (src.size() % width != 0 || src.size() / width != out.size()) {
    return Status::InvalidArgument("decode {}: {} bytes do not hold exactly {} elements",
                                   DTypeName(dtype), src.size(), out.size());
  }
  switch (dtype) {
    case DType::kF32:
      if (!out.empty()) std::memcpy(out.data(), src.data(), src.size());  // little-endian host
      break;
    case DType::kF16: Widen16(src, out, F16ToF32); break;
    case DType::kBF16: Widen16(src, out, BF16ToF32); break;
    case DType::kF8E4M3: Widen8(src, out, Fp8E4M3ToF32); break;
    case DType::kF8E5M2: Widen8(src, out, Fp8E5M2ToF32); break;
    default: Widen8(src, out, E8M0ToF32); break;
  }
  return Status::Ok();
}

}  // namespace moedist
