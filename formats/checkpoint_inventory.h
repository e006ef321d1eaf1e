// CheckpointInventory: what `moedist inspect` reports — family, routing semantics, per-layer
// counts, and the bytes of trunk vs routed experts in total, per layer and per expert, plus
// what one node would hold if the routed experts were split into N equal groups.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "formats/tensor_taxonomy.h"

namespace moedist {

struct LayerInventory {
  int layer;
  bool moe;
  uint64_t trunk_bytes = 0;
  uint64_t routed_bytes = 0;
  std::vector<uint64_t> expert_bytes;  // per routed expert (MoE layers only)
};

struct NodeEstimate {
  int groups;
  int experts_per_node;      // per MoE layer, ceil(E / groups)
  uint64_t node_bytes;       // trunk + the largest contiguous group of each MoE layer
  double fraction_of_model;  // node_bytes / total
};

struct CheckpointInventory {
  const ModelConfig* config;
  uint64_t tensor_count = 0;
  uint64_t total_bytes = 0;
  uint64_t trunk_bytes = 0;
  uint64_t routed_bytes = 0;
  std::map<std::string, uint64_t> bytes_by_class;
  std::map<std::string, uint64_t> tensors_by_class;
  std::map<std::string, uint64_t> bytes_by_dtype;
  std::vector<LayerInventory> layers;
  std::vector<std::string> unclassified;
  std::vector<std::string> warnings;
  std::optional<NodeEstimate> node;
};

// `groups` <= 0 skips the node estimate. Fails on shape or completeness errors; unknown tensor
// names are listed in `unclassified` (the caller reports them as an error).
Result<CheckpointInventory> InventoryCheckpoint(const Checkpoint& ckpt, int groups);

// The --json form (schemas/inspect.schema.json).
nlohmann::json InventoryToJson(const CheckpointInventory& inv);

}  // namespace moedist
