// llama.cpp placement rules for a GPU byte budget: which MoE layers' expert tensors to put on the
// GPU with `-ot` / `--override-tensor` (docs/tiers.md, "llama.cpp").
//
// llama.cpp stores a layer's routed experts as one tensor per projection
// (`blk.N.ffn_{gate,up,down}_exps.weight`, or `ffn_gate_up_exps`), and an override maps a tensor
// NAME (regex, first match wins) to one buffer type for the whole tensor: no expert or row range
// of it can go elsewhere. So a tier exports as whole layers. Every token selects top-k experts
// in every MoE layer, so each layer's experts serve the same share of the routing however
// concentrated its mass is; what differs between layers is their bytes (quant types). Layers are
// ranked by measured top-k selections served per byte (ties: lower layer first), and taken in
// that order while they fit, skipping those that no longer fit.
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/hotness_tiers.h"

namespace moedist {

struct LayerOffload {
  int layer = 0;
  uint64_t bytes = 0;     // the layer's routed experts, every projection
  double selections = 0;  // share of all measured top-k selections this layer served
  double per_gib = 0;     // selections share per GiB
  int experts_80 = 0;     // experts holding 80 % of the layer's mass (concentration, info)
  bool on_gpu = false;
};

struct OffloadPlan {
  uint64_t budget_bytes = 0;
  uint64_t bytes = 0;                // of the layers put on the GPU
  double selections = 0;             // share of the measured selections they serve
  std::vector<LayerOffload> ranked;  // best per byte first
  std::vector<std::string> args;     // argv words: -ot, rule, -ot, rule
};

// `device`: llama.cpp's buffer type name of the GPU (CUDA0, Vulkan0, Metal, ...).
Result<OffloadPlan> PlanLlamaOffload(const HotnessTiers& tiers, const GateProfile& calibration,
                                     uint64_t gpu_bytes, const std::string& device);

// The args as one shell line, each rule single-quoted.
std::string OffloadShellLine(const OffloadPlan& plan);

nlohmann::json OffloadPlanToJson(const OffloadPlan& plan);

}  // namespace moedist
