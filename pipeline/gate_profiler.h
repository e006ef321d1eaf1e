// The profiler: runs runtime-min over a calibration suite with every expert eligible
// (unmasked) and records the routing of the chosen MoE layers into a GateProfile.
// Two orders give identical statistics: prompt by prompt through every layer (Forward()), or
// layer by layer over all prompts holding one layer's weights (ForwardLayerMajor()), chosen by
// --stream-layers or by a --max-rss limit the whole model would exceed (profile_memory.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "formats/imatrix_gguf.h"
#include "pipeline/gate_profile.h"

namespace moedist {

struct ProfileLayerProgress {
  int layer = -1;  // the decoder layer just done; -1: about to start
  int layers_done = 0;
  int layers_total = 0;  // decoder layers that run (up to the last profiled one)
  uint64_t tokens = 0;
  double seconds = 0;       // since the pass started
  uint64_t rss_bytes = 0;   // VmRSS after the layer's weights were released
  uint64_t peak_bytes = 0;  // VmHWM so far
  uint64_t estimate_bytes = 0;
};

struct ProfileOptions {
  std::string checkpoint;
  std::string suite;
  std::string layers = "";  // "" = the first 4 MoE layers; "all"; "0-3"; "1,2,7"
  int max_tokens_per_prompt = 256;
  int topm = 0;  // 0 = min(E, 4 × top-k)
  // Memory: 0 = no limit; otherwise the run is planned to stay under max_rss resident bytes
  // (profile_memory.h), refused if it cannot, and stopped if it goes over.
  uint64_t max_rss = 0;
  bool stream_layers = false;  // run layer by layer even when the whole model would fit
  // Non-null: also record llama.cpp's importance matrix of every layer's matrices into it
  // (pipeline/imatrix_recorder.h); the layer-by-layer pass then runs every layer, not just up to
  // the last profiled one. datasets = {suite path}, chunk_count = prompts, chunk_size =
  // max_tokens_per_prompt.
  Imatrix* imatrix = nullptr;
  // Prompt by prompt: called after each prompt with (prompts done, total prompts, tokens so far).
  std::function<void(size_t, size_t, uint64_t)> progress;
  // Layer by layer: called once before the first layer (layer -1, with the plan) and after each.
  std::function<void(const ProfileLayerProgress&)> layer_progress;
};

// Parses a --layers value against the model's MoE layers. Decoder layers that are not MoE are
// skipped; a selection with no MoE layer is an error.
Result<std::vector<int>> SelectProfileLayers(const std::string& spec,
                                             const std::vector<int>& moe_layers, int num_layers);

Result<GateProfile> RunGateProfile(const ProfileOptions& options);

}  // namespace moedist
