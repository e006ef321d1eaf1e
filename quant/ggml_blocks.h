// Byte layouts of the ggml block formats moedist writes, field for field as ggml's
// ggml-common.h declares them, so a GGUF tensor's bytes can be viewed as an array of these.
// All multi-byte fields are little-endian; "f16" fields hold IEEE half bit patterns.
// docs/formats/quant.md describes the same layouts in prose.
#pragma once

#include <bit>
#include <cstdint>

namespace moedist {

static_assert(std::endian::native == std::endian::little,
              "ggml blocks are little-endian and are read in place");

inline constexpr int kQk8_0 = 32;
inline constexpr int kQk4_0 = 32;
inline constexpr int kQkK = 256;  // super-block of the k-quants

// Q8_0: x[i] = d * qs[i].
struct BlockQ8_0 {
  uint16_t d;         // f16 scale
  int8_t qs[kQk8_0];  // codes
};

// Q4_0: x[i] = d * (nibble(i) - 8); byte j holds element j (low nibble) and j + 16 (high).
struct BlockQ4_0 {
  uint16_t d;              // f16 scale
  uint8_t qs[kQk4_0 / 2];  // nibbles
};

// Q4_K: 8 sub-blocks of 32. Sub-block s has a 6-bit scale sc[s] and 6-bit min m[s] packed in
// `scales` (see GetScaleMinK4); x = d * sc[s] * q - dmin * m[s]. qs holds 4 chunks of 64
// values: byte l of chunk c has value 64c + l (low nibble) and 64c + 32 + l (high nibble).
struct BlockQ4_K {
  uint16_t d;            // f16 super-block scale for the sub-block scales
  uint16_t dmin;         // f16 super-block scale for the sub-block mins
  uint8_t scales[12];    // 8 scales + 8 mins, 6 bits each
  uint8_t qs[kQkK / 2];  // 4-bit codes
};

// Q6_K: 16 sub-blocks of 16; x = d * scales[s] * (q - 32), q a 6-bit code whose low 4 bits are
// in ql and high 2 bits in qh (layout in docs/formats/quant.md).
struct BlockQ6_K {
  uint8_t ql[kQkK / 2];      // low 4 bits of the codes
  uint8_t qh[kQkK / 4];      // high 2 bits of the codes
  int8_t scales[kQkK / 16];  // signed 8-bit sub-block scales
  uint16_t d;                // f16 super-block scale
};

static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ6_K) == 210);

// Sub-block j's 6-bit scale and min from a Q4_K `scales` array: entries 0..3 are the low 6 bits
// of bytes 0..3 (scales) and 4..7 (mins); entries 4..7 take their low 4 bits from bytes 8..11
// and their top 2 bits from the spare top bits of bytes 0..7.
inline void GetScaleMinK4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

}  // namespace moedist
