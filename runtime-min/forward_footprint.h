// ForwardFootprint: the memory a forward pass over a set of prompts will hold, estimated from
// the model's shapes and where its weights lie before anything runs.
//
// Callers compare the two orders against a memory limit: Forward() prompt by prompt touches
// every layer's weights (mapped pages stay resident), while ForwardLayerMajor() holds one
// layer's weights but the residual stream of all tokens (layer_stream.h). Each estimate is an
// upper bound on what the pass adds to the process; the caller adds what the process already
// holds (its resident set before the pass) and its own results.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime-min/model.h"
#include "runtime-min/weight_pages.h"

namespace moedist {

struct ForwardWorkload {
  std::vector<int> prompt_tokens;  // tokens of each prompt, as they will be run
  uint64_t distinct_tokens = 0;    // distinct token ids: embedding rows touched
  int last_layer = -1;             // layer-major pass: layers [0, last_layer]; -1: all
};

struct ForwardFootprint {
  uint64_t weight_bytes = 0;   // mapped weight pages resident at the peak
  int weight_peak_layer = -1;  // layer-major: the layer that sets weight_bytes (-1: embedding)
  uint64_t stream_bytes = 0;   // layer-major: residual stream of every token, f32 [T, H]
  uint64_t work_bytes = 0;     // the longest prompt's activations and KV cache
  uint64_t scratch_bytes = 0;  // matmul conversion and BLAS buffers (a measured allowance)
  uint64_t total() const { return weight_bytes + stream_bytes + work_bytes + scratch_bytes; }
  // "largest layer 612.0 MiB (layer 3) + residual stream 64.0 MiB + ...".
  std::string Describe() const;
};

ForwardFootprint EstimatePromptByPrompt(const Model& model, const WeightPages& pages,
                                        const ForwardWorkload& work);
ForwardFootprint EstimateLayerMajor(const Model& model, const WeightPages& pages,
                                    const ForwardWorkload& work);

}  // namespace moedist
