// The release-only readers on the trained example model packed as two nodes: eval on a node of
// the release (RunNodeEvalJob, what `eval DIST --node` runs) gives exactly the mean
// log-probability validate measured for that node; the release placer (place DIST), which sees
// the trunk alone, scores each prompt exactly as the full checkpoint's probe scores the first
// MoE layer; and a tampered trunk file is refused, named.
#include "pipeline/release_node.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "formats/model_config.h"
#include "pack_fixture_testutil.h"
#include "pipeline/calibration_suite.h"
#include "pipeline/captured_mass.h"
#include "pipeline/release_placement.h"
#include "pipeline/release_validate.h"
#include "pipeline/session_quality.h"
#include "pipeline/validation_eval.h"
#include "tests/test_dirs.h"

namespace moedist::pack_testing {
namespace {

const std::string kExample = moedist::test_dirs::SourceDir() + "/examples/model/checkpoint";
const std::string kEval = moedist::test_dirs::SourceDir() + "/examples/calibration/eval.jsonl";
constexpr int kPromptTokens = 24;

class ExampleTwoNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = LoadModelConfig(kExample);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto packed = PackRelease(MakeRequest(kExample, TwoGroupPlan(*config), dist_));
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
  }
  // The eval suite as validate tokenizes it.
  EvalPrompts Prompts() {
    auto suite = ReadCalibrationSuite(kEval);
    EXPECT_TRUE(suite.ok());
    auto tok = Tokenizer::LoadFile(kExample + "/tokenizer.json");
    EXPECT_TRUE(tok.ok());
    auto p = TokenizeEvalPrompts(*suite, &*tok, kPromptTokens, -1);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : EvalPrompts{};
  }
  TempDir tmp_;
  std::string dist_ = tmp_.Sub("dist");
};

TEST_F(ExampleTwoNodes, EvalOnANodeEqualsValidatesFigureForIt) {
  ValidateOptions v;
  v.dist_dir = dist_;
  v.checkpoint_dir = kExample;
  v.eval_path = kEval;
  v.allow_unsigned = true;
  v.max_prompt_tokens = kPromptTokens;
  v.thresholds.max_logprob_drop = 5;
  v.thresholds.max_placed_logprob_drop = 5;
  v.thresholds.min_distinct_2 = 0;
  v.thresholds.max_distinct_2_drop = 1;
  v.thresholds.require_equivalence = false;
  v.generation_prompts = 1;
  v.generation_new_tokens = 4;
  v.update_manifest = false;
  v.scratch_dir = tmp_.Sub("scratch");
  auto report = ValidateRelease(v);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->nodes.size(), 2u);

  const EvalPrompts prompts = Prompts();
  const std::string ids = tmp_.Sub("ids.json");
  std::ofstream(ids) << nlohmann::json(prompts.tokens).dump();
  for (const NodeValidation& n : report->nodes) {
    SCOPED_TRACE(n.node);
    ASSERT_TRUE(n.quality.has_value()) << n.load_error;
    ReleaseNodeOptions node{.dist_dir = dist_, .node = n.node};
    node.trust.allow_unsigned = true;
    EvalJobOptions job;
    job.ids_path = ids;
    auto r = RunNodeEvalJob(node, job);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->trust, ReleaseTrust::kDigestsOnly);
    EXPECT_EQ(r->format, "safetensors");
    EXPECT_EQ(r->eval.result.num_predicted, n.quality->tokens_scored);
    EXPECT_NEAR(r->eval.result.mean_logprob(), n.quality->mean_logprob, 1e-9);
    // A node is not the full model: the figure is the node's own.
    EXPECT_NE(r->eval.result.mean_logprob(), report->full.quality->mean_logprob);
  }
}

TEST_F(ExampleTwoNodes, ReleasePlacerScoresTheFirstMoeLayerAsTheFullModelDoes) {
  auto placer = ReleasePlacer::Open({.dist_dir = dist_, .trust = {.allow_unsigned = true}});
  ASSERT_TRUE(placer.ok()) << placer.status().ToString();
  EXPECT_EQ((*placer)->trust(), ReleaseTrust::kDigestsOnly);
  EXPECT_EQ((*placer)->probe_layer(), 0);
  EXPECT_EQ((*placer)->nodes(), (std::vector<std::string>{"node-0", "node-1"}));
  EXPECT_FALSE((*placer)->tokenizer_source().empty());  // text prompts work from the release

  // The reference: the source checkpoint's full model, probed as validate probes it, scored on
  // the first MoE layer of the release's partition.
  auto full = Model::Open(kExample);
  ASSERT_TRUE(full.ok());
  const EvalPrompts prompts = Prompts();
  auto probe = ProbePlacementRouting(**full, prompts.tokens, 64);
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  auto config = LoadModelConfig(kExample);
  ExpertPlan first_layer = TwoGroupPlan(*config);
  // CapturedMassByPrompt averages every layer the plan lists: keep the first alone.
  std::erase_if(first_layer.layers, [](const auto& l) { return l.first != 0; });
  const auto want = CapturedMassByPrompt(*probe, first_layer);
  // How often the first layer picks the node all layers would pick (printed for the docs).
  ExpertPlan all_layers = TwoGroupPlan(*config);
  const std::vector<int> all_pick = PlaceProbedPrompts(*probe, all_layers);
  int same = 0;
  for (size_t p = 0; p < prompts.tokens.size(); ++p) {
    auto got = (*placer)->Place(prompts.tokens[p], 64);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->scores.size(), 2u);
    EXPECT_EQ(got->scores, want[p]) << "prompt " << p;  // bit for bit: the same arithmetic
    EXPECT_EQ(got->layers, std::vector<int>{0});
    same += got->chosen == all_pick[p];
  }
  std::printf("first-MoE-layer placement agrees with all-layer placement on %d of %zu prompts\n",
              same, prompts.tokens.size());
  // Text goes through the release's tokenizer: the same as ids from the same tokenizer.
  auto text = (*placer)->PlaceText("def main():\n    return 0\n", 64);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_GT(text->tokens_used, 1);
}

// Flips one byte near the end of the first safetensors shard of `bundle`; returns its name.
std::string TamperShard(const std::string& dist, const std::string& bundle) {
  for (const std::string& f : ListFiles(dist + "/" + bundle)) {
    if (!f.ends_with(".safetensors")) continue;
    std::fstream s(dist + "/" + bundle + "/" + f, std::ios::in | std::ios::out | std::ios::binary);
    s.seekp(-7, std::ios::end);
    s.put('\x42');
    return bundle + "/" + f;
  }
  return "";
}

TEST_F(ExampleTwoNodes, PlacerVerifiesTheTrunkAndOnlyTheTrunk) {
  // A group's file is not read by the placer, so not verified by it either.
  ASSERT_FALSE(TamperShard(dist_, "group-1").empty());
  auto placer = ReleasePlacer::Open({.dist_dir = dist_, .trust = {.allow_unsigned = true}});
  ASSERT_TRUE(placer.ok()) << placer.status().ToString();
  // ... but the node that holds it is refused, naming the file.
  auto node =
      OpenReleaseNode({.dist_dir = dist_, .node = "node-1", .trust = {.allow_unsigned = true}});
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().code(), StatusCode::kCorruption);
  EXPECT_NE(node.status().message().find("group-1/"), std::string::npos) << node.status().message();

  const std::string victim = TamperShard(dist_, "trunk");
  ASSERT_FALSE(victim.empty());
  placer = ReleasePlacer::Open({.dist_dir = dist_, .trust = {.allow_unsigned = true}});
  ASSERT_FALSE(placer.ok());
  EXPECT_EQ(placer.status().code(), StatusCode::kCorruption);
  EXPECT_NE(placer.status().message().find(victim), std::string::npos) << placer.status().message();
  // Nothing chosen is refused before anything is read.
  auto none = ReleasePlacer::Open({.dist_dir = dist_});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  // --no-verify loads a node whatever its bytes.
  node = OpenReleaseNode({.dist_dir = dist_, .node = "node-0", .trust = {.no_verify = true}});
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(node->trust, ReleaseTrust::kNotChecked);
}

}  // namespace
}  // namespace moedist::pack_testing
