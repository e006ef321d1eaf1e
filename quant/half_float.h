// F16 (IEEE binary16) and BF16 (bfloat16) conversions to and from F32, one value or a row.
//
// Rounding is round-to-nearest-even everywhere, the rule torch, numpy and ggml use, so a tensor
// converted by moedist has the same bits as one converted by those tools:
//   F32 -> F16: subnormal halves are produced (not flushed), values at or above 65520 become
//               infinity, NaN becomes the quiet NaN 0x7E00 with its sign (ggml and torch do the
//               same; the payload is dropped).
//   F32 -> BF16: subnormals kept (as torch; very old ggml flushed them), NaN stays NaN: sign and
//               top payload bits kept, quiet bit forced (as ggml; torch writes 0x7FC0).
//   F16/BF16 -> F32 are exact.
// Values are bit patterns (uint16_t) so no compiler half type is needed. Thread safety: pure
// functions.
#pragma once

#include <bit>
#include <cstdint>
#include <span>

#include "core/status.h"

namespace moedist {

uint16_t F32ToF16(float value);
float F16ToF32(uint16_t bits);

inline uint16_t F32ToBF16(float value) {
  const uint32_t x = std::bit_cast<uint32_t>(value);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);
  // Adding 0x7FFF plus the lowest kept bit carries into the kept half exactly when the dropped
  // half is above one half, or equal to it with an odd kept half: round-to-nearest-even.
  return static_cast<uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}
inline float BF16ToF32(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

// Row forms: `out` must have exactly as many elements as `in` (InvalidArgument otherwise).
Status F32ToF16Row(std::span<const float> in, std::span<uint16_t> out);
Status F16ToF32Row(std::span<const uint16_t> in, std::span<float> out);
Status F32ToBF16Row(std::span<const float> in, std::span<uint16_t> out);
Status BF16ToF32Row(std::span<const uint16_t> in, std::span<float> out);

}  // namespace moedist
