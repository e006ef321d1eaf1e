// Helpers for the pack tests: temporary directories, the hf-tiny fixtures and their inputs, the
// two-group plans the tests pack, running runtime-min, and reading a node bundle back as a plain
// checkpoint.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/expert_plan.h"
#include "pipeline/pack_release.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/model.h"

namespace moedist::pack_testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline const std::vector<std::string>& Families() {
  static const std::vector<std::string> kFamilies = {"qwen3_moe", "qwen2_moe",   "mixtral",
                                                     "olmoe",     "deepseek_v3", "llama4"};
  return kFamilies;
}
std::string FixtureDir(const std::string& family);
// reference.json input_ids: [B][S].
std::vector<std::vector<int32_t>> FixtureInputIds(const std::string& family);

// The test plan: two groups plus a one-expert overlay in every MoE layer. Groups interleave
// (even / odd ids) so renumbering is not the identity; DeepSeek-V3 (n_group 4, topk_group 2)
// gets groups made of whole DeepSeek expert groups instead (see pack_equivalence_test.cpp).
ExpertPlan TwoGroupPlan(const ModelConfig& config);

// A PackRequest with fixed release fields (so manifests are reproducible) and keep everywhere.
PackRequest MakeRequest(const std::string& checkpoint, const ExpertPlan& plan,
                        const std::string& out);

// Logits [sum of S, V] of the sequences run one after another from position 0.
Result<std::vector<float>> RunLogits(const Model& model,
                                     const std::vector<std::vector<int32_t>>& ids,
                                     const ExpertMask* mask);

// Writes DIST/<node> as a self-contained checkpoint in `out` (config.json + model.safetensors),
// reading it with Checkpoint::Open(node, {release_root}). In mask mode the experts the node does
// not hold are filled with NaN weights, so a forward pass that touched one would show it.
Status MaterializeNode(const std::string& dist, const std::string& node, const std::string& out);

// A small Qwen3-MoE checkpoint with random weights whose rows are multiples of 256 (so every
// block type applies): BF16 weights, or F8_E4M3 routed experts with 128x128 weight_scale_inv.
struct SyntheticSpec {
  int hidden = 256;
  int moe_intermediate = 256;
  int experts = 8;
  int top_k = 2;
  int layers = 2;
  int vocab = 512;
  bool fp8_experts = false;
  uint32_t seed = 7;
};
Status WriteSyntheticQwen3(const std::string& dir, const SyntheticSpec& spec);

// Every regular file below `dir`, relative, sorted.
std::vector<std::string> ListFiles(const std::string& dir);
std::string ReadAll(const std::string& path);

}  // namespace moedist::pack_testing
