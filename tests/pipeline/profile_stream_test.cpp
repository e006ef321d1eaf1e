// Layer-streaming profiles equal prompt-by-prompt profiles field by field on every hf-tiny
// family; the memory planner picks the order a --max-rss limit allows, or refuses.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "pipeline/gate_profiler.h"
#include "pipeline/profile_memory.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
const fs::path kHfTiny = fs::path(moedist::test_dirs::FixtureRoot()) / "fixtures" / "hf-tiny";

fs::path TempPath(const std::string& name) {
  return fs::temp_directory_path() /
         ("moedist-profile-stream-" + std::to_string(::getpid()) + "-" + name);
}

// The fixture's reference rows plus random prompts of several lengths, in two domains.
fs::path WriteSuite(const std::string& family) {
  // A fixture that cannot be read is a failure naming it and an empty suite, not a crash below.
  auto ref_text = ReadSmallFile((kHfTiny / family / "reference.json").string(), 1 << 20);
  auto cfg_text = ReadSmallFile((kHfTiny / family / "config.json").string(), 1 << 20);
  if (!ref_text.ok() || !cfg_text.ok()) {
    ADD_FAILURE() << (ref_text.ok() ? cfg_text.status() : ref_text.status()).ToString();
    return {};
  }
  auto ref = ParseJsonStrict(*ref_text, "reference.json");
  auto cfg = ParseJsonStrict(*cfg_text, "config.json");
  if (!ref.ok() || !cfg.ok()) {
    ADD_FAILURE() << (ref.ok() ? cfg.status() : ref.status()).ToString();
    return {};
  }
  const nlohmann::json& text_cfg = cfg->contains("text_config") ? (*cfg)["text_config"] : *cfg;
  const int vocab = text_cfg["vocab_size"].get<int>();
  const fs::path path = TempPath(family + ".jsonl");
  std::ofstream out(path);
  int i = 0;
  for (const auto& ids : (*ref)["input_ids"]) {
    out << nlohmann::json({{"id", "ref" + std::to_string(i++)}, {"domain", "ref"}, {"ids", ids}})
               .dump()
        << "\n";
  }
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> id(0, vocab - 1);
  for (int len : {1, 6, 17, 9}) {
    std::vector<int> ids(len);
    for (int& t : ids) t = id(rng);
    out << nlohmann::json(
               {{"id", "rand" + std::to_string(i++)}, {"domain", "random"}, {"ids", ids}})
               .dump()
        << "\n";
  }
  return path;
}

class StreamProfile : public testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(HfTiny, StreamProfile,
                         testing::Values("qwen3_moe", "qwen2_moe", "mixtral", "olmoe",
                                         "deepseek_v3", "llama4"),
                         [](const auto& info) { return info.param; });

TEST_P(StreamProfile, EqualsPromptByPromptFieldByField) {
  const fs::path suite = WriteSuite(GetParam());
  ASSERT_FALSE(suite.empty());
  ProfileOptions o;
  o.checkpoint = (kHfTiny / GetParam()).string();
  o.suite = suite.string();
  o.layers = "all";
  auto by_prompt = RunGateProfile(o);
  o.stream_layers = true;
  auto by_layer = RunGateProfile(o);
  fs::remove(suite);
  ASSERT_TRUE(by_prompt.ok()) << by_prompt.status().ToString();
  ASSERT_TRUE(by_layer.ok()) << by_layer.status().ToString();
  const GateProfile& a = *by_prompt;
  const GateProfile& b = *by_layer;
  EXPECT_EQ(a.execution.mode, "prompt-by-prompt");
  EXPECT_EQ(b.execution.mode, "layer-stream");
  EXPECT_GT(b.execution.peak_rss, 0u);
  EXPECT_GT(b.execution.estimated_peak, 0u);

  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.token_prompt, b.token_prompt);
  ASSERT_EQ(a.prompts.size(), b.prompts.size());
  for (size_t i = 0; i < a.prompts.size(); ++i) {
    EXPECT_EQ(a.prompts[i].id, b.prompts[i].id);
    EXPECT_EQ(a.prompts[i].domain, b.prompts[i].domain);
    EXPECT_EQ(a.prompts[i].tokens, b.prompts[i].tokens);
  }
  EXPECT_EQ(a.topm, b.topm);
  EXPECT_EQ(a.moe_layers, b.moe_layers);
  EXPECT_EQ(a.expert_bytes, b.expert_bytes);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  ASSERT_FALSE(a.layers.empty());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const LayerGateProfile& x = a.layers[i];
    const LayerGateProfile& y = b.layers[i];
    SCOPED_TRACE("layer " + std::to_string(x.layer));
    EXPECT_EQ(x.layer, y.layer);
    EXPECT_EQ(x.selection_count, y.selection_count);
    EXPECT_EQ(x.gate_mass, y.gate_mass);  // exact: same values added in the same order
    EXPECT_EQ(x.routed_weight, y.routed_weight);
    EXPECT_EQ(x.domain_mass, y.domain_mass);
    EXPECT_EQ(x.coactivation, y.coactivation);
    EXPECT_EQ(x.prompt_mass, y.prompt_mass);
    EXPECT_EQ(x.topm_experts, y.topm_experts);
    EXPECT_EQ(x.topm_probs, y.topm_probs);
    EXPECT_EQ(x.nonfinite_tokens, y.nonfinite_tokens);
  }
}

TEST(StreamProfile, ProgressIsReportedPerLayerUpToTheLastProfiledOne) {
  const fs::path suite = WriteSuite("qwen2_moe");
  ASSERT_FALSE(suite.empty());
  ProfileOptions o;
  o.checkpoint = (kHfTiny / "qwen2_moe").string();
  o.suite = suite.string();
  o.layers = "0";
  o.stream_layers = true;
  std::vector<ProfileLayerProgress> seen;
  o.layer_progress = [&](const ProfileLayerProgress& p) { seen.push_back(p); };
  auto profile = RunGateProfile(o);
  fs::remove(suite);
  ASSERT_TRUE(profile.ok()) << profile.status().ToString();
  ASSERT_EQ(seen.size(), 2u);  // the start, then layer 0: later layers are not run
  EXPECT_EQ(seen[0].layer, -1);
  EXPECT_EQ(seen[1].layer, 0);
  EXPECT_EQ(seen[1].layers_total, 1);
  EXPECT_EQ(seen[1].tokens, profile->tokens);
  EXPECT_GT(seen[1].peak_bytes, 0u);
  EXPECT_GE(seen[1].peak_bytes, seen[1].rss_bytes);
}

TEST(StreamProfile, ALimitBelowTheEstimateIsRefusedBeforeRunning) {
  const fs::path suite = WriteSuite("olmoe");
  ASSERT_FALSE(suite.empty());
  ProfileOptions o;
  o.checkpoint = (kHfTiny / "olmoe").string();
  o.suite = suite.string();
  o.max_rss = 1 << 20;  // 1 MiB: less than the process already holds
  bool ran = false;
  o.progress = [&](size_t, size_t, uint64_t) { ran = true; };
  o.layer_progress = [&](const ProfileLayerProgress&) { ran = true; };
  auto profile = RunGateProfile(o);
  fs::remove(suite);
  ASSERT_FALSE(profile.ok());
  EXPECT_FALSE(ran);
  EXPECT_EQ(profile.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(profile.status().message().find("--max-rss 1.00 MiB is too small"), std::string::npos)
      << profile.status().message();
  EXPECT_NE(profile.status().message().find("residual stream"), std::string::npos);
}

TEST(StreamProfile, AGenerousLimitKeepsPromptByPromptAndRecordsThePeak) {
  const fs::path suite = WriteSuite("mixtral");
  ASSERT_FALSE(suite.empty());
  ProfileOptions o;
  o.checkpoint = (kHfTiny / "mixtral").string();
  o.suite = suite.string();
  o.max_rss = uint64_t{64} << 30;
  auto profile = RunGateProfile(o);
  fs::remove(suite);
  ASSERT_TRUE(profile.ok()) << profile.status().ToString();
  EXPECT_EQ(profile->execution.mode, "prompt-by-prompt");
  EXPECT_EQ(profile->execution.max_rss, uint64_t{64} << 30);
  EXPECT_GT(profile->execution.peak_rss, 0u);
  EXPECT_LE(profile->execution.peak_rss, profile->execution.max_rss);
}

// The planner's choice, on footprints with known sizes: whole model 3750 B, layer by layer
// 1800 B (with 500 B held by the process and 100 B of statistics).
struct PlanCase {
  uint64_t max_rss;
  bool force;
  bool layer_stream;  // the order chosen; ignored when refused
  uint64_t estimate;  // 0: refused
};

TEST(ProfileMemoryPlan, ChoosesTheOrderTheLimitAllows) {
  const ForwardFootprint whole{.weight_bytes = 3000, .work_bytes = 100, .scratch_bytes = 50};
  const ForwardFootprint stream{.weight_bytes = 900,
                                .weight_peak_layer = 2,
                                .stream_bytes = 200,
                                .work_bytes = 50,
                                .scratch_bytes = 50};
  const PlanCase cases[] = {
      {0, false, false, 3750},     // no limit: prompt by prompt
      {3750, false, false, 3750},  // the whole model just fits
      {0, true, true, 1800},       // --stream-layers
      {3749, false, true, 1800},   // the whole model does not fit: layer by layer
      {1800, false, true, 1800},   // layer by layer just fits
      {1799, false, false, 0},     // neither fits: refused
  };
  for (const PlanCase& c : cases) {
    SCOPED_TRACE(testing::Message() << "max_rss " << c.max_rss << " force " << c.force);
    auto plan = PlanProfileMemory(whole, stream, 500, 100, c.max_rss, c.force);
    if (c.estimate == 0) {
      ASSERT_FALSE(plan.ok());
      EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
      const std::string& msg = plan.status().message();
      EXPECT_NE(msg.find("give --max-rss 1.76 KiB or more"), std::string::npos) << msg;
      EXPECT_NE(msg.find("weights 900 B (layer 2)"), std::string::npos) << msg;
      continue;
    }
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    EXPECT_EQ(plan->layer_stream, c.layer_stream);
    EXPECT_EQ(plan->estimate(), c.estimate);
  }
}

TEST(ProfileMemoryPlan, StatisticsGrowWithTokensLayersAndExperts) {
  ProfileShape s{.tokens = 1000, .prompts = 10, .domains = 2, .layers = 1, .experts = 8, .topm = 4};
  const uint64_t one = ProfileStatisticsBytes(s);
  // top-m: 1000 × 4 × 6, prompt mass 10 × 8 × 4, co-activation 8 × 8 × 4, sums 5 × 8 × 8,
  // plus token_prompt and ids 1000 × 8.
  EXPECT_EQ(one, 24000u + 320u + 256u + 320u + 8000u);
  s.layers = 3;
  EXPECT_EQ(ProfileStatisticsBytes(s), 3 * (one - 8000u) + 8000u);
}

}  // namespace
}  // namespace moedist
