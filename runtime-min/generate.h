// Generate: prompt → new tokens, with the KV cache (one prefill call, then one token per call).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/status.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/model.h"
#include "runtime-min/routing_observer.h"
#include "runtime-min/sampler.h"

namespace moedist {

struct GenerateOptions {
  int max_new_tokens = 64;
  SamplingOptions sampling;              // temperature 0 = greedy
  std::vector<int32_t> stop_ids;         // generation ends after emitting one of these
  const ExpertMask* mask = nullptr;
  RoutingObserver* observer = nullptr;
  std::function<void(int32_t)> on_token; // streaming: called with each new token
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // the new tokens (a stop id, if hit, is the last)
  bool stopped = false;         // ended on a stop id rather than max_new_tokens
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

Result<GenerateResult> Generate(const Model& model, std::span<const int32_t> prompt,
                                const GenerateOptions& options);

// The end-of-sequence ids from generation_config.json (preferred) or config.json
// ("eos_token_id": an integer or a list); empty when neither names one.
std::vector<int32_t> EosTokenIds(const Model& model);

}  // namespace moedist
