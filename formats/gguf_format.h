// Constants and naming rules of the GGUF container (docs/formats/gguf.md), shared by the reader
// and the writer so that what one refuses the other never produces.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace moedist {

inline constexpr uint8_t kGgufMagic[4] = {'G', 'G', 'U', 'F'};
inline constexpr uint32_t kGgufVersion = 3;            // what the writer emits
inline constexpr uint32_t kGgufOldestVersion = 2;      // v1 used 32-bit counts; ggml refuses it
inline constexpr uint32_t kGgufDefaultAlignment = 32;  // when general.alignment is absent
inline constexpr std::string_view kGgufAlignmentKey = "general.alignment";
inline constexpr uint32_t kGgmlMaxDims = 4;          // GGML_MAX_DIMS
inline constexpr uint64_t kGgmlMaxNameBytes = 63;    // GGML_MAX_NAME (64) less the NUL
inline constexpr uint64_t kGgufMaxKeyBytes = 65535;  // the spec's limit on a key
inline constexpr uint64_t kGgufHeaderBytes = 24;     // magic, version, tensor_count, kv_count

// A metadata key: 1 to 65535 bytes of printable ASCII without spaces (the spec asks for ASCII
// lower_snake_case segments joined by '.'; moedist enforces the part that cannot be ambiguous).
Status CheckGgufKey(std::string_view key, StatusCode code);
// A tensor name: 1 to 63 bytes (ggml stores names in char[64]), valid UTF-8, no NUL.
Status CheckGgufTensorName(std::string_view name, StatusCode code);

inline bool IsPowerOfTwo(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

}  // namespace moedist
