// Unquantized node bundles are exact: for every hf-tiny family and both layouts (group-<k>/ +
// overlay/, and one expert-<layer>-<id>/ bundle per expert), runtime-min's logits on
// DIST/node-<g> equal, bit for bit, its logits on the original checkpoint under the expert mask
// group ∪ overlay (a two-group plan with a one-expert overlay, reference.json's input_ids).
//
// Slice-mode nodes (Qwen3-MoE, Mixtral: softmax with renormalised top-k; Llama-4: top-k on raw
// logits) have their own expert count and sliced routers and run unmasked; mask-mode nodes
// (Qwen2-MoE, OLMoE: norm_topk_prob false; DeepSeek-V3: grouped top-k) keep the full router and
// run with the mask in moedist_node.json, the experts they do not hold filled with NaN (so a
// forward pass that used one would show). DeepSeek-V3's plan gives each node whole DeepSeek expert
// groups (n_group 4 of 4 experts, topk_group 2): node 0 holds groups 0-1 (experts 0-7), node 1
// groups 2-3 plus the overlay expert 0, so every node can route its top-4 within topk_group
// groups.
//
// runtime-min opens a node through Checkpoint::Open(node, {release_root}); until Model::Open
// takes those options (and tolerates absent experts under a mask), the node is read with them
// and written out as a plain checkpoint first (MaterializeNode). When Model::Open(dir, options)
// exists, the direct path is checked too.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <tuple>

#include "formats/hf_checkpoint.h"
#include "pack_fixture_testutil.h"
#include "pipeline/node_bundle.h"
#include "runtime-min/forward.h"

namespace moedist::pack_testing {
namespace {

// Model::Open(dir, CheckpointOpenOptions) once runtime-min has it; Unsupported until then.
template <typename M = Model>
Result<std::unique_ptr<M>> OpenNodeDirect(const std::string& dir, const std::string& root) {
  if constexpr (requires { M::Open(dir, CheckpointOpenOptions{root}); }) {
    return M::Open(dir, CheckpointOpenOptions{root});
  } else {
    return Status::Unsupported("runtime-min's Model::Open takes no CheckpointOpenOptions yet");
  }
}

std::string FirstDifference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return fmt::format("sizes {} and {}", a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      float worst = 0;
      for (size_t j = 0; j < a.size(); ++j) worst = std::max(worst, std::fabs(a[j] - b[j]));
      return fmt::format("logit {} differs: {} vs {} (max |diff| {})", i, a[i], b[i], worst);
    }
  }
  return "";
}

class PackEquivalenceTest
    : public ::testing::TestWithParam<std::tuple<std::string, PackLayoutKind>> {};

TEST_P(PackEquivalenceTest, NodeLogitsEqualMaskedFullModelBitForBit) {
  const auto& [family, layout] = GetParam();
  auto full = Model::Open(FixtureDir(family));
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  const ModelConfig& config = (*full)->config();
  const ExpertPlan plan = TwoGroupPlan(config);
  const auto ids = FixtureInputIds(family);

  TempDir tmp;
  const std::string dist = tmp.Sub("dist");
  PackRequest request = MakeRequest(FixtureDir(family), plan, dist);
  request.layout = layout;
  auto report = PackRelease(request);
  ASSERT_TRUE(report.ok()) << report.status().ToString();

  for (int g = 0; g < plan.num_groups; ++g) {
    // DeepSeek-V3's grouped router: node 0 holds router groups 0 and 1 whole and is sliced
    // (n_group 1: two groups, topk_group 2); node 1 holds part of group 0 (the overlay).
    const bool expect_slice = family == "qwen3_moe" || family == "mixtral" || family == "llama4" ||
                              (family == "deepseek_v3" && g == 0);
    SCOPED_TRACE("node " + std::to_string(g));
    const std::string node = "node-" + std::to_string(g);
    auto info = ReadNodeInfo(dist + "/" + node);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->mode, expect_slice ? NodeMode::kSlice : NodeMode::kMask) << info->mode_reason;

    std::map<int, std::vector<int>> held;
    for (int layer : config.MoeLayers()) held[layer] = plan.NodeExperts(layer, g);
    auto full_mask = ExpertMask::FromLayers(config, held, "plan");
    ASSERT_TRUE(full_mask.ok()) << full_mask.status().ToString();
    auto expected = RunLogits(**full, ids, &*full_mask);
    ASSERT_TRUE(expected.ok()) << expected.status().ToString();

    const std::string plain = tmp.Sub("plain-" + node);
    Status st = MaterializeNode(dist, node, plain);
    ASSERT_TRUE(st.ok()) << st.ToString();
    auto node_model = Model::Open(plain);
    ASSERT_TRUE(node_model.ok()) << node_model.status().ToString();
    const ModelConfig& node_config = (*node_model)->config();
    EXPECT_EQ(node_config.routing.num_experts, expect_slice
                                                   ? static_cast<int>(held.begin()->second.size())
                                                   : config.routing.num_experts);
    auto node_mask = ExpertMask::FromLayers(node_config, NodeMaskLayers(*info), node);
    ASSERT_TRUE(node_mask.ok()) << node_mask.status().ToString();
    auto got = RunLogits(**node_model, ids, &*node_mask);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(FirstDifference(*expected, *got), "") << family << " " << node;

    auto direct = OpenNodeDirect(dist + "/" + node, dist);
    if (direct.ok()) {
      auto direct_logits = RunLogits(**direct, ids, &*node_mask);
      ASSERT_TRUE(direct_logits.ok()) << direct_logits.status().ToString();
      EXPECT_EQ(FirstDifference(*expected, *direct_logits), "") << "direct open of " << node;
    } else {
      EXPECT_EQ(direct.status().code(), StatusCode::kUnsupported) << direct.status().ToString();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, PackEquivalenceTest,
                         ::testing::Combine(::testing::ValuesIn(Families()),
                                            ::testing::Values(PackLayoutKind::kGroups,
                                                              PackLayoutKind::kExperts)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" +
                                  std::string(PackLayoutKindName(std::get<1>(info.param)));
                         });

}  // namespace
}  // namespace moedist::pack_testing
