#include "quant/mxfp4.h"

#include <array>

#include "quant/fp8.h"

namespace moedist {
namespace {
constexpr std::array<float, 16> kE2M1 = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                         -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
}  // namespace

float Fp4E2M1ToF32(uint8_t nibble) {
  return kE2M1[nibble & 0xF];
}

Status DecodeMxfp4(std::span<const uint8_t> blocks, std::span<const uint8_t> scales,
                   std::span<float> out) {
  const size_t groups = scales.size();
  if (blocks.size() / 16 != groups || blocks.size() % 16 != 0) {
    return Status::InvalidArgument(
        "mxfp4: {} block bytes for {} scales; expected 16 per scale ({})", blocks.size(), groups,
        groups * 16);
  }
  if (out.size() / 32 != groups || out.size() % 32 != 0) {
    return Status::InvalidArgument("mxfp4: output holds {} elements; {} groups decode to {}",
                                   out.size(), groups, groups * 32);
  }
  for (size_t g = 0; g < groups; ++g) {
    // The product of an E2M1 value and a power of two is exact unless it leaves f32's range.
    const float scale = E8M0ToF32(scales[g]);
    const uint8_t* src = blocks.data() + g * 16;
    float* dst = out.data() + g * 32;
    for (size_t j = 0; j < 16; ++j) {
      dst[2 * j] = kE2M1[src[j] & 0xF] * scale;
      dst[2 * j + 1] = kE2M1[src[j] >> 4] * scale;
    }
  }
  return Status::Ok();
}

}  // namespace moedist
