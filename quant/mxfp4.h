// MXFP4 as stored by GPT-OSS checkpoints (OCP Microscaling FP4): each group of 32 elements is
// 16 bytes of packed FP4 E2M1 codes plus one E8M0 scale byte.
//
//   `blocks` U8 [..., G, 16]: byte j of a group holds element 2j in its low nibble and element
//            2j+1 in its high nibble (transformers' convert_moe_packed_tensors order).
//   `scales` U8 [..., G]: E8M0, value 2^(s - 127).
//   E2M1 code s eem: magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6; bit 3 is the sign.
// Element = e2m1 * 2^(s - 127). Note ggml's own block_mxfp4 orders nibbles differently (low
// nibbles are elements 0..15); this decoder is for the safetensors layout only. Pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"

namespace moedist {

float Fp4E2M1ToF32(uint8_t nibble);

// Decodes scales.size() groups: blocks.size() must be 16 * scales.size() and out.size()
// 32 * scales.size() (InvalidArgument naming the sizes otherwise). A scale byte 0xFF (NaN in
// E8M0) decodes its group to NaN.
Status DecodeMxfp4(std::span<const uint8_t> blocks, std::span<const uint8_t> scales,
                   std::span<float> out);

}  // namespace moedist
