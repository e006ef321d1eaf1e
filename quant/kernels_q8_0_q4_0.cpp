// Q8_0 and Q4_0 kernels: one f16 scale per block of 32, symmetric codes.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/ggml_blocks.h"
#include "quant/ggml_kernels.h"
#include "quant/half_float.h"

namespace moedist::kernels {

// d = amax / 127 so the largest magnitude maps to +-127; codes round half away from zero
// (roundf), as ggml's reference does.
void QuantizeQ8_0(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kQk8_0, out += sizeof(BlockQ8_0)) {
    float amax = 0.0f;
    for (int j = 0; j < kQk8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 b;
    b.d = F32ToF16(d);
    for (int j = 0; j < kQk8_0; ++j) b.qs[j] = RoundToInt8(x[j] * id);
    std::memcpy(out, &b, sizeof b);
  }
}

void DequantizeQ8_0(const uint8_t* in, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i, in += sizeof(BlockQ8_0), y += kQk8_0) {
    BlockQ8_0 b;
    std::memcpy(&b, in, sizeof b);
    const float d = F16ToF32(b.d);
    for (int j = 0; j < kQk8_0; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
  }
}

// The scale is signed: d = max / -8 where max is the value of largest magnitude, so that value
// lands exactly on code 0 (-8 * d) and the asymmetric range -8..7 is used fully on its side.
// Codes truncate x/d + 8.5 (round half up), clamped to 15.
void QuantizeQ4_0(const float* x, uint8_t* out, size_t nb) {
  for (size_t i = 0; i < nb; ++i, x += kQk4_0, out += sizeof(BlockQ4_0)) {
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < kQk4_0; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 b;
    b.d = F32ToF16(d);
    for (int j = 0; j < kQk4_0 / 2; ++j) {
      const int lo = std::min(15, static_cast<int>(TruncToInt8(x[j] * id + 8.5f)));
      const int hi = std::min(15, static_cast<int>(TruncToInt8(x[j + kQk4_0 / 2] * id + 8.5f)));
      b.qs[j] = static_cast<uint8_t>(static_cast<uint8_t>(lo) | (static_cast<uint8_t>(hi) << 4));
    }
    std::memcpy(out, &b, sizeof b);
  }
}

void DequantizeQ4_0(const uint8_t* in, float* y, size_t nb) {
  for (size_t i = 0; i < nb; ++i, in += sizeof(BlockQ4_0), y += kQk4_0) {
    BlockQ4_0 b;
    std::memcpy(&b, in, sizeof b);
    const float d = F16ToF32(b.d);
    for (int j = 0; j < kQk4_0 / 2; ++j) {
      y[j] = static_cast<float>((b.qs[j] & 0x0F) - 8) * d;
      y[j + kQk4_0 / 2] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
    }
  }
}

}  // namespace moedist::kernels
