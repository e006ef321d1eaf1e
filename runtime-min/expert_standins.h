// ExpertStandIns: what a node computes in place of the routed experts it does not hold, instead
// of masking them out of the router (docs/algorithms.md, "Stand-ins for absent experts").
//
//   constant  the router keeps every expert (unmasked top-k, as the full model); an absent
//             expert it picks contributes its weight × a constant vector, that expert's mean
//             output on the calibration suite. Needs a runtime that knows stand-ins (runtime-min);
//             stock transformers and llama.cpp cannot express an input-independent expert.
//   proxy     each proxy is one extra SwiGLU expert standing for a set of absent experts, with
//             its own router logit: either a router row (an ordinary MoE expert: a node with
//             proxies stays a checkpoint stock runtimes load) or, with `exact_logit`, the
//             log-sum-exp of its members' router logits, so the softmax gives the proxy exactly
//             the probability mass its members had (needs the members' router rows).
//             The top-k runs over the held experts and the proxies; absent experts stay masked.
// Only softmax routers (Qwen, Mixtral, OLMoE, DeepSeek-V2 greedy) are supported; the weights a
// proxy owns are f32.
// Thread safety: immutable after construction.
#pragma once

#include <map>
#include <vector>

#include "runtime-min/model_weights.h"

namespace moedist {

// A SwiGLU expert whose f32 weights it owns (views in `mlp` point into the vectors).
struct OwnedExpert {
  std::vector<float> gate, up, down;  // [I, H], [I, H], [H, I] row-major
  MlpWeights mlp;
  // Builds the views; call after filling the vectors (and after any move of this object).
  void Bind(int64_t hidden, int64_t width);
};

// log Σ exp(logits[e]) over `members`: the logit that gives a proxy, in a softmax, exactly the
// probability mass its members had.
float MembersLogSumExp(const float* logits, const std::vector<int>& members);

struct ProxyExpert {
  std::vector<int> members;  // absent experts it stands for, sorted
  OwnedExpert expert;
  std::vector<float> router_row;  // [H], used unless the layer's exact_logit
};

struct LayerStandIns {
  std::map<int, std::vector<float>> constants;  // absent expert → mean output [H]
  std::vector<ProxyExpert> proxies;
  bool exact_logit = false;
};

struct ExpertStandIns {
  std::map<int, LayerStandIns> layers;  // MoE layer → its stand-ins (absent: plain masking)
};

}  // namespace moedist
