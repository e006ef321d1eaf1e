// Synthetic Qwen3-MoE checkpoints for benchmarks and the README's first command: a config.json,
// model.safetensors.index.json and shards written by moedist's own safetensors writer.
// With `sparse`, tensor data is left as holes in the files (all zeros, no disk blocks), so a
// 20 GB checkpoint costs nothing to create; otherwise weights are deterministic pseudo-random
// bf16 values.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace moedist {

struct SyntheticCheckpointSpec {
  int layers = 2;
  int hidden = 64;
  int experts = 8;
  int top_k = 2;
  int moe_intermediate = 32;
  int heads = 4;
  int kv_heads = 2;
  int head_dim = 16;
  int vocab = 256;
  uint64_t shard_bytes = 1ull << 30;  // target shard size
  bool sparse = false;
  uint64_t seed = 1;
};

Status WriteSyntheticCheckpoint(const SyntheticCheckpointSpec& spec, const std::string& dir);

}  // namespace moedist
