#include "quant/half_float.h"

namespace moedist {

uint16_t F32ToF16(float value) {
  const uint32_t x = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) return sign | 0x7E00u;  // NaN
  // 65520 = 65504 + half an ulp; the tie rounds to the even neighbour, which is infinity.
  if (ax >= 0x477FF000u) return sign | 0x7C00u;
  if (ax >= 0x38800000u) {  // at least 2^-14: a normal half
    // Rebias the exponent (127 -> 15 is -112 << 23 = 0xC8000000 mod 2^32) and round the 13
    // dropped mantissa bits to nearest even in one add; a carry out of the mantissa correctly
    // bumps the exponent.
    const uint32_t odd = (ax >> 13) & 1u;
    return sign | static_cast<uint16_t>((ax + 0xC8000FFFu + odd) >> 13);
  }
  if (ax <= 0x33000000u) return sign;  // at most 2^-25: rounds to zero (2^-25 is a tie to 0)
  // Subnormal half: count units of 2^-24. The f32 significand m (24 bits) is worth
  // m * 2^(e - 150); in units of 2^-24 that is m >> (126 - e), rounded to nearest even.
  const uint32_t e = ax >> 23;
  const uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
  const uint32_t shift = 126u - e;  // 14..24 for e in 102..112
  uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (q & 1u))) ++q;  // q may reach 0x400: the smallest normal
  return sign | static_cast<uint16_t>(q);
}

float F16ToF32(uint16_t bits) {
  // Written with selects instead of branches so row loops vectorise. Normal halves: shift the
  // exponent and mantissa into place and rebias (15 -> 127 adds 112 << 23 = 0x38000000);
  // inf/NaN need the exponent at 255, i.e. another 112 (payload bits carried as they are);
  // zero and subnormals are mant * 2^-24, exact in f32.
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t em = bits & 0x7FFFu;
  uint32_t out = (em << 13) + 0x38000000u;
  out = em >= 0x7C00u ? out + 0x38000000u : out;
  out = em < 0x0400u ? std::bit_cast<uint32_t>(static_cast<float>(em) * 0x1p-24f) : out;
  return std::bit_cast<float>(sign | out);
}

namespace {
template <typename In, typename Out, typename Fn>
Status ConvertRow(std::span<const In> in, std::span<Out> out, const char* what, Fn fn) {
  if (in.size() != out.size()) {
    return Status::InvalidArgument("{}: output holds {} elements, input has {}", what, out.size(),
                                   in.size());
  }
  for (size_t i = 0; i < in.size(); ++i) out[i] = fn(in[i]);
  return Status::Ok();
}
}  // namespace

Status F32ToF16Row(std::span<const float> in, std::span<uint16_t> out) {
  return ConvertRow(in, out, "f32 to f16", F32ToF16);
}
Status F16ToF32Row(std::span<const uint16_t> in, std::span<float> out) {
  return ConvertRow(in, out, "f16 to f32", F16ToF32);
}
Status F32ToBF16Row(std::span<const float> in, std::span<uint16_t> out) {
  return ConvertRow(in, out, "f32 to bf16", F32ToBF16);
}
Status BF16ToF32Row(std::span<const uint16_t> in, std::span<float> out) {
  return ConvertRow(in, out, "bf16 to f32", BF16ToF32);
}

}  // namespace moedist
