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

// Q5_K: Q4_K with a fifth bit per code: x = d * sc[s] * q - dmin * m[s], q in 0..31. qs holds
// the low 4 bits as in Q4_K; bit 2c of qh[l] is the high bit of value 64c + l and bit 2c + 1
// that of value 64c + 32 + l.
struct BlockQ5_K {
  uint16_t d;            // f16 super-block scale for the sub-block scales
  uint16_t dmin;         // f16 super-block scale for the sub-block mins
  uint8_t scales[12];    // 8 scales + 8 mins, 6 bits each (as Q4_K)
  uint8_t qh[kQkK / 8];  // high bits of the codes
  uint8_t qs[kQkK / 2];  // low 4 bits of the codes
};

// Q3_K: 16 sub-blocks of 16; x = d * (sc[s] - 32) * (q - 4), q a 3-bit code. Value v has its
// low 2 bits in qs[32 * (v / 128) + v % 32] at bit 2 * ((v % 128) / 32) and its high bit in
// hmask[v % 32] at bit v / 32. The 6-bit sc[s] has its low 4 bits in scales[s % 8] (low nibble
// for s < 8, high for s >= 8) and its top 2 bits in scales[8 + s % 4] at bit 2 * (s / 4).
struct BlockQ3_K {
  uint8_t hmask[kQkK / 8];  // high bits of the codes
  uint8_t qs[kQkK / 4];     // low 2 bits of the codes
  uint8_t scales[12];       // 16 6-bit scales, offset by 32
  uint16_t d;               // f16 super-block scale
};

// Q2_K: 16 sub-blocks of 16; x = d * (scales[s] & 15) * q - dmin * (scales[s] >> 4), q a 2-bit
// code stored as in Q3_K's qs.
struct BlockQ2_K {
  uint8_t scales[kQkK / 16];  // 4-bit scale (low nibble) and 4-bit min (high nibble)
  uint8_t qs[kQkK / 4];       // 2-bit codes
  uint16_t d;                 // f16 super-block scale for the sub-block scales
  uint16_t dmin;              // f16 super-block scale for the sub-block mins
};

static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ2_K) == 84);

// The 2-bit codes of Q2_K and Q3_K: value v at qs[32 * (v / 128) + v % 32], bit 2 * ((v % 128) /
// 32), i.e. each 128 values fill 32 bytes, four 32-value runs one bit pair apart.
inline int Get2BitCode(const uint8_t* qs, int v) {
  return (qs[32 * (v / 128) + v % 32] >> (2 * ((v % 128) / 32))) & 3;
}
template <typename Code>
void Pack2BitCodes(const Code* L, uint8_t* qs) {
  for (int j = 0; j < kQkK; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                           (L[j + l + 96] << 6));
    }
  }
}

// Sub-block s's 6-bit Q3_K scale code (0..63; the scale is code - 32).
inline int GetScaleK3(int s, const uint8_t* scales) {
  const int low = s < 8 ? scales[s] & 0xF : scales[s - 8] >> 4;
  return low | ((scales[8 + s % 4] >> (2 * (s / 4))) & 3) << 4;
}

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
