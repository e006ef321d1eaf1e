// GateProfile: unmasked router statistics over a calibration suite — what `profile` records and
// `plan` / `place` read (docs/formats/profile.md).
//
// Scores are normalised per token to a distribution over experts before anything is summed
// (softmax routers already are one; sigmoid routers — DeepSeek-V3, Llama-4 — are divided by the
// sum of their scores), so "gate mass" means the same thing in every family: an expert's share
// of a token's routing probability. Per MoE layer the profile holds selection counts, gate mass,
// routed weight (what the router actually multiplied by), mass per domain, co-activation counts
// (pairs chosen for the same token), per-prompt mass, and per token the top-m experts with their
// normalised probabilities (so planners can evaluate exact top-k captured mass for any expert
// set). profile.json carries the summaries; a safetensors sidecar carries the arrays.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace moedist {

struct ProfilePrompt {
  std::string id;
  std::string domain;
  uint32_t tokens = 0;
};

struct LayerGateProfile {
  int layer = 0;
  std::vector<uint64_t> selection_count;  // [E]
  std::vector<double> gate_mass;          // [E] Σ over tokens of normalised probability
  std::vector<double> routed_weight;      // [E] Σ of the weights the router applied
  std::map<std::string, std::vector<double>> domain_mass;  // domain -> [E]
  std::vector<uint32_t> coactivation;                      // [E*E] symmetric, diagonal 0
  std::vector<float> prompt_mass;                          // [P*E] Σ over the prompt's tokens
  std::vector<uint16_t> topm_experts;  // [T*m] per token, descending probability
  std::vector<float> topm_probs;       // [T*m]
  uint64_t nonfinite_tokens = 0;       // tokens whose scores had NaN/Inf (refused upstream)
};

// How the profile was computed and the memory it took: not statistics, and not the same from
// run to run (peak_rss). Empty mode: not recorded (profiles written before it existed).
struct ProfileExecution {
  std::string mode;             // "prompt-by-prompt" or "layer-stream"
  uint64_t max_rss = 0;         // --max-rss, 0 = none
  uint64_t estimated_peak = 0;  // resident set the chosen mode was expected to need
  uint64_t peak_rss = 0;        // VmHWM when the last prompt / layer was done
};

struct GateProfile {
  // Model facts the planner needs.
  std::string family;
  std::string scoring;
  int num_layers = 0;
  int num_experts = 0;
  int top_k = 0;
  // Grouped top-k (DeepSeek-V3): the router's expert groups (contiguous blocks of
  // num_experts / router_groups ids) and how many it keeps per token; 1 / 1 for other routers.
  int router_groups = 1;
  int router_groups_used = 1;
  std::vector<int> moe_layers;                        // all MoE layers of the model
  std::map<int, std::vector<uint64_t>> expert_bytes;  // layer -> [E] bytes per expert
  uint64_t trunk_bytes = 0;
  // Provenance.
  std::string checkpoint;
  std::string suite_path;
  std::string suite_sha256;
  std::vector<ProfilePrompt> prompts;
  std::vector<uint32_t> token_prompt;  // [T] prompt index of each profiled token
  int topm = 0;
  uint64_t tokens = 0;
  std::vector<LayerGateProfile> layers;  // profiled MoE layers, ascending
  ProfileExecution execution;

  const LayerGateProfile* FindLayer(int layer) const;
  std::vector<std::string> Domains() const;
};

// Share of total gate mass held by the hottest 1, 2, …, E experts of a layer.
std::vector<double> ConcentrationCurve(const LayerGateProfile& layer);

// Writes `json_path` (summaries) and `json_path` + ".arrays.safetensors" (arrays), atomically.
Status WriteGateProfile(const GateProfile& profile, const std::string& json_path);
Result<GateProfile> ReadGateProfile(const std::string& json_path);

// mesh-llm `moe-split --ranking-file` CSV: '#' comment lines, then
// expert_id,gate_mass,mass_pct,selection_count, hottest first. `layer` < 0 sums all layers.
std::string RankingCsv(const GateProfile& profile, int layer);

}  // namespace moedist
