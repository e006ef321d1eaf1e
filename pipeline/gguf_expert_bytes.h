// Routed-expert bytes per layer as a llama.cpp GGUF stores them, for `moedist tiers --gguf`: the
// user's own quantization prices the tiers and the `-ot` rules (docs/tiers.md). Tensors are the
// ones llama.cpp's --cpu-moe pattern matches (`blk.N.ffn_{up,down,gate,gate_up}_{,ch}exps.*`),
// so the bytes are exactly those an `-ot` rule for layer N moves. A layer's bytes are shared
// evenly among its experts (they are one merged tensor per projection).
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/status.h"
#include "formats/gguf_reader.h"

namespace moedist {

// layer -> [num_experts] bytes. A merged tensor whose last dimension is not `num_experts` is
// refused, naming it (another model than the profile's).
Result<std::map<int, std::vector<uint64_t>>> GgufExpertBytes(const GgufFile& gguf, int num_experts);

}  // namespace moedist
