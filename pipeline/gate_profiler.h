// The profiler: runs runtime-min over a calibration suite with every expert eligible
// (unmasked) and records the routing of the chosen MoE layers into a GateProfile.
#pragma once

#include <functional>
#include <string>

#include "core/status.h"
#include "pipeline/gate_profile.h"

namespace moedist {

struct ProfileOptions {
  std::string checkpoint;
  std::string suite;
  std::string layers = "";           // "" = the first 4 MoE layers; "all"; "0-3"; "1,2,7"
  int max_tokens_per_prompt = 256;
  int topm = 0;                      // 0 = min(E, 4 × top-k)
  // Called after each prompt with (prompts done, total prompts, tokens so far).
  std::function<void(size_t, size_t, uint64_t)> progress;
};

// Parses a --layers value against the model's MoE layers. Decoder layers that are not MoE are
// skipped; a selection with no MoE layer is an error.
Result<std::vector<int>> SelectProfileLayers(const std::string& spec, const std::vector<int>& moe_layers,
                                             int num_layers);

Result<GateProfile> RunGateProfile(const ProfileOptions& options);

}  // namespace moedist
