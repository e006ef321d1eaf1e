// Memory planning for `profile`: which forward order to run, and whether a --max-rss limit can
// be kept, decided before any weight is touched; then the guard that checks it while running.
//
// Estimate = what the process holds already (its resident set, or its high-water mark if that
// is larger: the limit is on the process) + the statistics the profile accumulates + the
// forward pass's footprint (runtime-min/forward_footprint.h). Prompt by prompt is chosen unless
// asked otherwise or its estimate exceeds the limit; layer-streaming is chosen then, and if that
// does not fit either, the run is refused with the estimate's parts and the smallest limit that
// would do.
#pragma once

#include <cstdint>
#include <string>

#include "core/process_memory.h"
#include "core/status.h"
#include "pipeline/gate_profile.h"
#include "runtime-min/forward_footprint.h"

namespace moedist {

struct ProfileShape {  // what the accumulated statistics' size depends on
  uint64_t tokens = 0;
  uint64_t prompts = 0;
  uint64_t domains = 0;
  uint64_t layers = 0;  // profiled MoE layers
  uint64_t experts = 0;
  uint64_t topm = 0;
};

// Bytes of a GateProfile of this shape (per-token top-m samples, per-prompt mass,
// co-activation, summaries), plus the token ids held while running.
uint64_t ProfileStatisticsBytes(const ProfileShape& shape);

struct ProfileMemoryPlan {
  bool layer_stream = false;
  uint64_t process_bytes = 0;     // held before the pass
  uint64_t statistics_bytes = 0;  // ProfileStatisticsBytes
  ForwardFootprint forward;       // of the chosen order
  uint64_t estimate() const { return process_bytes + statistics_bytes + forward.total(); }
  std::string Describe() const;  // the sum, part by part
};

// `max_rss` 0 = no limit. `process_bytes` is what the process holds now (ReadProcessMemory).
Result<ProfileMemoryPlan> PlanProfileMemory(const ForwardFootprint& prompt_by_prompt,
                                            const ForwardFootprint& layer_stream,
                                            uint64_t process_bytes, uint64_t statistics_bytes,
                                            uint64_t max_rss, bool force_layer_stream);

// The runtime guard: reads VmRSS / VmHWM; fails when the high-water mark has passed `max_rss`
// (0: never fails), naming `where` ("after layer 3"). Returns the reading.
Result<ProcessMemory> CheckResidentLimit(uint64_t max_rss, uint64_t estimate,
                                         const std::string& where);

}  // namespace moedist
