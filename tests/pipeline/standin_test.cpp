// Stand-ins for absent experts (standin_fit.h, standin_file.h, runtime-min/expert_standins.h)
// on the trained example model: fitted proxies measurably beat plain masking on held-out
// prompts; a packed node holding proxies computes exactly what runtime-min computes for the full
// model under the node's mask with those proxies; a file fitted for another plan is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include "pack_fixture_testutil.h"
#include "pipeline/calibration_suite.h"
#include "pipeline/node_model.h"
#include "pipeline/pack_release.h"
#include "pipeline/standin_file.h"
#include "pipeline/standin_fit.h"
#include "pipeline/standin_plan.h"
#include "pipeline/validation_eval.h"
#include "runtime-min/forward.h"
#include "runtime-min/tokenizer.h"
#include "tests/test_dirs.h"

namespace moedist::pack_testing {
namespace {

std::string Example() {
  return test_dirs::SourceDir() + "/examples/model/checkpoint";
}
std::string Suite(const std::string& name) {
  return test_dirs::SourceDir() + "/examples/calibration/" + name;
}

// Two groups of seven experts and an overlay of two in every MoE layer.
ExpertPlan TwoGroups(const ModelConfig& c) {
  ExpertPlan plan;
  plan.num_experts = c.routing.num_experts;
  plan.top_k = c.routing.top_k;
  plan.num_groups = 2;
  plan.strategy = "custom";
  for (int layer : c.MoeLayers()) {
    LayerPlan lp;
    lp.groups = {{0, 2, 4, 6, 8, 10, 12}, {1, 3, 5, 7, 9, 11, 13}};
    lp.overlay = {14, 15};
    plan.layers[layer] = lp;
  }
  return plan;
}

EvalPrompts Prompts(const std::string& suite_path, int count, int tokens) {
  auto suite = ReadCalibrationSuite(suite_path);
  EXPECT_TRUE(suite.ok()) << suite.status().ToString();
  auto tok = Tokenizer::LoadFile(Example() + "/tokenizer.json");
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  auto prompts = TokenizeEvalPrompts(*suite, &*tok, tokens, -1);
  EXPECT_TRUE(prompts.ok()) << prompts.status().ToString();
  EvalPrompts out;
  // Every k-th prompt, so every domain is represented.
  const size_t step = std::max<size_t>(1, prompts->tokens.size() / size_t(count));
  for (size_t i = 0; i < prompts->tokens.size() && int(out.tokens.size()) < count; i += step) {
    out.ids.push_back(prompts->ids[i]);
    out.domains.push_back(prompts->domains[i]);
    out.tokens.push_back(prompts->tokens[i]);
  }
  return out;
}

ExpertMask NodeMask(const Model& m, const ExpertPlan& plan, int node) {
  std::map<int, std::vector<int>> layers;
  for (const auto& [layer, lp] : plan.layers) layers[layer] = plan.NodeExperts(layer, node);
  auto mask = ExpertMask::FromLayers(m.config(), layers, "test plan");
  EXPECT_TRUE(mask.ok()) << mask.status().ToString();
  return *mask;
}

TEST(StandIns, ProxyFitAndConstantsBeatMaskingOnHeldOutPrompts) {
  auto model = Model::Open(Example());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const Model& m = **model;
  const ExpertPlan plan = TwoGroups(m.config());
  const EvalPrompts calib = Prompts(Suite("calibration.jsonl"), 40, 64);
  const EvalPrompts eval = Prompts(Suite("eval.jsonl"), 16, 64);
  auto cal = RecordStandInCalibration(m, calib.tokens);
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  auto full = ScoreEvalPrompts({&m, nullptr}, eval, nullptr, nullptr);
  ASSERT_TRUE(full.ok());

  // The worst node's Δ mean log-probability (vs the full model) with each kind of stand-in.
  auto worst = [&](const StandInOptions* options) {
    std::optional<FittedStandIns> fitted;
    if (options) {
      auto f = FitStandIns(m, plan, *cal, *options);
      EXPECT_TRUE(f.ok()) << f.status().ToString();
      fitted = std::move(*f);
    }
    double w = 0;
    for (int g = 0; g < plan.num_groups; ++g) {
      ExpertMask mask = NodeMask(m, plan, g);
      if (fitted) mask = mask.WithStandIns(NodeStandIns(*fitted, plan, g));
      auto q = ScoreEvalPrompts({&m, &mask}, eval, nullptr, nullptr);
      EXPECT_TRUE(q.ok()) << q.status().ToString();
      w = std::min(w, q->mean_logprob - full->mean_logprob);
    }
    return w;
  };
  const double masked = worst(nullptr);
  StandInOptions constant{StandInKind::kConstant};
  StandInOptions proxy{StandInKind::kProxyFit};
  const double with_constants = worst(&constant);
  const double with_proxies = worst(&proxy);
  std::printf("[standins] worst node Δ: mask %.4f, constant %.4f, proxy-fit %.4f\n", masked,
              with_constants, with_proxies);
  EXPECT_LT(masked, -0.2);  // the split hurts, so there is something to win back
  EXPECT_GT(with_constants, masked + 0.05);
  EXPECT_GT(with_proxies, masked + 0.1);
}

// One proxy per group, and three (each for a cluster of the group's experts).
class PackedProxies : public ::testing::TestWithParam<int> {};

TEST_P(PackedProxies, PackedNodeComputesItsProxies) {
  const int per_group = GetParam();
  TempDir dir;
  auto model = Model::Open(Example());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const Model& m = **model;
  ExpertPlan plan = TwoGroups(m.config());

  StandInPlanRequest req;
  req.checkpoint_dir = Example();
  req.suite_path = Suite("calibration.jsonl");
  req.max_tokens = 24;
  req.proxies_per_group = per_group;
  req.out_path = dir.Sub("plan.standins.safetensors");
  auto written = WritePlanStandIns(plan, req);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->proxies, 2 * per_group * int(plan.layers.size()));
  plan.standins_file = req.out_path;
  plan.standins_kind = "proxy-fit";

  PackRequest pack;
  pack.checkpoint_dir = Example();
  pack.plan = plan;
  pack.out_dir = dir.Sub("dist");
  pack.created = "2026-01-01T00:00:00Z";
  auto packed = PackRelease(pack);
  ASSERT_TRUE(packed.ok()) << packed.status().ToString();

  auto file =
      ReadStandInFile(req.out_path, plan, m.config().hidden_size, m.config().moe_intermediate_size);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto fitted = LoadFittedStandIns(*file);
  ASSERT_TRUE(fitted.ok()) << fitted.status().ToString();
  const std::vector<int32_t> ids = Prompts(Suite("eval.jsonl"), 1, 48).tokens[0];
  for (int g = 0; g < plan.num_groups; ++g) {
    const std::string name = "node-" + std::to_string(g);
    auto node = OpenNodeModel(pack.out_dir, name, dir.Sub("open-" + name));
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    // Held experts, then the other group's proxies, in the node's own numbering.
    EXPECT_EQ(node->model->config().routing.num_experts, 9 + per_group) << name;
    std::vector<int> want_proxies;
    for (int i = 0; i < per_group; ++i) want_proxies.push_back((1 - g) * per_group + i);
    EXPECT_EQ(node->info.layers.begin()->second.proxies, want_proxies);
    for (const auto& [layer, proxies] : file->layers) {
      // The other group's proxies split it.
      std::vector<int> covered;
      for (int i : want_proxies) {
        const auto& m = proxies[size_t(i)].members;
        covered.insert(covered.end(), m.begin(), m.end());
      }
      std::sort(covered.begin(), covered.end());
      EXPECT_EQ(covered, plan.layers.at(layer).groups[size_t(1 - g)]) << name << " layer " << layer;
    }

    ExpertMask mask = NodeMask(m, plan, g).WithStandIns(NodeStandIns(*fitted, plan, g));
    std::vector<float> want, got;
    Sequence s_full(m), s_node(*node->model);
    ASSERT_TRUE(Forward(m, s_full, ids, {.mask = &mask}, &want).ok());
    ASSERT_TRUE(Forward(*node->model, s_node, ids, {.mask = &node->mask}, &got).ok());
    ASSERT_EQ(want.size(), got.size());
    double max_diff = 0;
    const size_t vocab = want.size() / ids.size();
    int same_top = 0;
    for (size_t t = 0; t < ids.size(); ++t) {
      const float* a = want.data() + t * vocab;
      const float* b = got.data() + t * vocab;
      for (size_t v = 0; v < vocab; ++v)
        max_diff = std::max(max_diff, double(std::fabs(a[v] - b[v])));
      same_top += std::max_element(a, a + vocab) - a == std::max_element(b, b + vocab) - b;
    }
    std::printf("[standins] %s vs full model + mask + proxies: max |Δlogit| %.2e\n", name.c_str(),
                max_diff);
    // Same bf16 weights on both sides; only summation order differs (the proxy's router logit
    // is a double dot product in one, a row of the sliced router in the other).
    EXPECT_LT(max_diff, 2e-3) << name;
    EXPECT_EQ(same_top, int(ids.size())) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(PerGroup, PackedProxies, ::testing::Values(1, 3),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::to_string(info.param) + "PerGroup";
                         });

TEST(StandIns, FileOfAnotherPlanIsRefused) {
  TempDir dir;
  auto model = Model::Open(Example());
  ASSERT_TRUE(model.ok());
  const ExpertPlan plan = TwoGroups((*model)->config());
  StandInPlanRequest req;
  req.checkpoint_dir = Example();
  req.suite_path = Suite("calibration.jsonl");
  req.max_tokens = 8;
  req.kind = StandInKind::kProxyAverage;
  req.out_path = dir.Sub("s.safetensors");
  ASSERT_TRUE(WritePlanStandIns(plan, req).ok());
  ExpertPlan other = plan;
  for (auto& [layer, lp] : other.layers) std::swap(lp.groups[0][0], lp.groups[1][0]);
  for (auto& [layer, lp] : other.layers) {
    std::sort(lp.groups[0].begin(), lp.groups[0].end());
    std::sort(lp.groups[1].begin(), lp.groups[1].end());
  }
  auto file = ReadStandInFile(req.out_path, other, (*model)->config().hidden_size,
                              (*model)->config().moe_intermediate_size);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find(req.out_path), std::string::npos);
  EXPECT_NE(file.status().message().find("another plan"), std::string::npos);
  // The plan it was fitted for reads back with one proxy per group and layer.
  auto same = ReadStandInFile(req.out_path, plan, (*model)->config().hidden_size,
                              (*model)->config().moe_intermediate_size);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->kind, "proxy-average");
  for (const auto& [layer, proxies] : same->layers) EXPECT_EQ(proxies.size(), 2u);
}

TEST(StandIns, ProxiesThatDoNotSplitTheGroupsAreRefused) {
  TempDir dir;
  auto model = Model::Open(Example());
  ASSERT_TRUE(model.ok());
  const ModelConfig& c = (*model)->config();
  const ExpertPlan plan = TwoGroups(c);
  StandInPlanRequest req;
  req.checkpoint_dir = Example();
  req.suite_path = Suite("calibration.jsonl");
  req.max_tokens = 8;
  req.kind = StandInKind::kProxyAverage;
  req.proxies_per_group = 2;
  req.out_path = dir.Sub("s.safetensors");
  ASSERT_TRUE(WritePlanStandIns(plan, req).ok());
  auto file = ReadStandInFile(req.out_path, plan, c.hidden_size, c.moe_intermediate_size);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto fitted = LoadFittedStandIns(*file);
  ASSERT_TRUE(fitted.ok()) << fitted.status().ToString();
  const int layer = fitted->proxies.begin()->first;
  ASSERT_EQ(fitted->proxies.at(layer).size(), 4u);

  struct Case {
    const char* what;
    std::function<void(std::vector<ProxyExpert>&)> edit;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"a member of group 1 moved into a proxy of group 0",
       [](std::vector<ProxyExpert>& p) {
         p[0].members.push_back(p[2].members.back());
         std::sort(p[0].members.begin(), p[0].members.end());
         p[2].members.pop_back();
       },
       "another plan"},
      {"the same expert in two proxies",
       [](std::vector<ProxyExpert>& p) {
         p[1].members.push_back(p[0].members.front());
         std::sort(p[1].members.begin(), p[1].members.end());
       },
       "another plan"},
      {"a group left partly uncovered",
       [](std::vector<ProxyExpert>& p) { p[3].members.pop_back(); }, "cover"},
      {"an empty proxy", [](std::vector<ProxyExpert>& p) { p[1].members.clear(); }, "non-empty"},
  };
  for (const Case& k : cases) {
    FittedStandIns bad = *fitted;
    k.edit(bad.proxies.at(layer));
    const std::string path = dir.Sub("bad.safetensors");
    ASSERT_TRUE(WriteStandInFile(path, bad, DType::kBF16).ok()) << k.what;
    auto read = ReadStandInFile(path, plan, c.hidden_size, c.moe_intermediate_size);
    ASSERT_FALSE(read.ok()) << k.what;
    EXPECT_NE(read.status().message().find(path), std::string::npos) << read.status().ToString();
    EXPECT_NE(read.status().message().find(k.says), std::string::npos)
        << k.what << ": " << read.status().ToString();
  }
}

}  // namespace
}  // namespace moedist::pack_testing
