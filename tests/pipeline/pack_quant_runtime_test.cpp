// Quantized node bundles run in runtime-min: every hf-tiny family and the trained example model
// are packed with recipes that quantize routed experts (and, for q8_0, everything 2-D), each
// node is opened directly (Model::Open(node, {release_root})) and evaluated teacher-forced under
// its mask, and compared with the same node packed unquantized (keep).
//
// (a) q8_0 everywhere: the logits stay close to the unquantized node's. Q8_0's relative RMS
//     weight error is 0.6% (quant.md); each token's logits pass through 4L+2 quantized matmuls
//     in series, errors add in quadrature (sqrt(4·2+2)·0.6% ≈ 2% for the fixtures' two layers),
//     so at least 75% of token positions must have logits within 5% relative RMS. The rest may
//     not: on the random fixtures a router's top-k often has near-ties, and a flipped expert
//     choice moves that token's logits by far more than the weights' error (measured: up to 9%
//     relative RMS over a whole DeepSeek-V3 or Llama-4 fixture), so the whole-run bound is 15%.
// (b) Δ mean token log-probability (quantized node − unquantized node) is finite and within a
//     bound per recipe (kMaxDrop), printed (the example model's table is in docs/formats/quant.md).
// Fixture rows are 32–96 values, so q4_k falls back to q4_0 there (recorded by pack); the
// example model's expert gate/up rows are 256 values, so it runs real q4_k (down: q4_0).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "formats/hf_checkpoint.h"
#include "pack_fixture_testutil.h"
#include "pipeline/calibration_suite.h"
#include "pipeline/node_bundle.h"
#include "runtime-min/eval.h"
#include "runtime-min/eval_job.h"
#include "tests/test_dirs.h"

namespace moedist::pack_testing {
namespace {

struct Recipe {
  std::string name;
  std::string json;  // "" = keep
  double max_drop;   // bound on |Δ mean logprob| against keep, nats per token
};

std::string ExampleRecipe(const std::string& name) {
  return ReadAll(std::string(moedist::test_dirs::SourceDir()) + "/examples/recipes/" + name);
}

// The recipes every family runs. Bounds: q8_0 moves a token's log-probability by well under a
// hundredth of a nat; 4-bit experts by a few hundredths on the trained model (measured there:
// docs/formats/quant.md), with a 3-5x margin for the random fixtures' flatter distributions.
std::vector<Recipe> Recipes(bool packed_llama4) {
  std::vector<Recipe> r = {
      {"keep", "", 0},
      {"q8 (examples/recipes/q8.json)", ExampleRecipe("q8.json"), 0.03},
      {"experts q8_0", R"({"classes": {"routed_expert": "q8_0"}})", 0.02},
      {"experts q6_k", R"({"classes": {"routed_expert": "q6_k"}})", 0.05},
      {"experts q4_k", R"({"classes": {"routed_expert": "q4_k"}})", 0.15},
  };
  // The overlay in q6_k next to q4_k groups: packed layouts need one type (pack refuses).
  if (!packed_llama4)
    r.push_back({"q4k (examples/recipes/q4k.json)", ExampleRecipe("q4k.json"), 0.15});
  return r;
}

// The low-bit k-quants on the example model only: its expert gate/up rows are 256 values, so
// they really run there (the fixtures' rows would fall back to q4_0 / q8_0, already covered).
// Bounds: the measured |Δ| (docs/formats/quant.md: at most 0.0012, 0.029, 0.126) with a ~2x
// margin.
std::vector<Recipe> LowBitRecipes() {
  return {
      {"experts q5_k", R"({"classes": {"routed_expert": "q5_k"}})", 0.01},
      {"experts q3_k", R"({"classes": {"routed_expert": "q3_k"}})", 0.06},
      {"experts q2_k", R"({"classes": {"routed_expert": "q2_k"}})", 0.25},
  };
}

struct NodeRun {
  std::vector<float> logits;
  EvalResult eval;
  int quantized_matrices = 0;  // routed-expert matrices in a block type
};

int CountQuantizedExperts(const Model& m) {
  int n = 0;
  for (const LayerWeights& l : m.weights().layers) {
    for (const MlpWeights& e : l.moe.experts) {
      for (const WeightMatrix* w : {&e.gate, &e.up, &e.down}) {
        n += !w->empty() && GetQuantTypeInfo(w->type).block_elements > 1;
      }
    }
  }
  return n;
}

Result<NodeRun> RunNode(const std::string& dist, const std::string& node,
                        const std::vector<std::vector<int32_t>>& sequences) {
  const std::string dir = dist + "/" + node;
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Open(dir, CheckpointOpenOptions{dist}));
  ASSIGN_OR_RETURN(NodeInfo info, ReadNodeInfo(dir));
  ASSIGN_OR_RETURN(ExpertMask mask,
                   ExpertMask::FromLayers(model->config(), NodeMaskLayers(info), node));
  NodeRun run;
  run.quantized_matrices = CountQuantizedExperts(*model);
  EvalOptions options;
  options.mask = &mask;
  options.on_logits = [&](size_t, std::span<const float> l) {
    run.logits.insert(run.logits.end(), l.begin(), l.end());
  };
  ASSIGN_OR_RETURN(run.eval, EvaluateSequences(*model, sequences, options));
  return run;
}

Result<std::string> Pack(const std::string& checkpoint, const ExpertPlan& plan,
                         const Recipe& recipe, const std::string& out) {
  PackRequest req = MakeRequest(checkpoint, plan, out);
  if (!recipe.json.empty()) {
    ASSIGN_OR_RETURN(req.recipe, ParseRecipe(recipe.json, recipe.name));
  }
  RETURN_IF_ERROR(PackRelease(req).status());
  return out;
}

struct Difference {
  double relative_rms = 0;  // over all logits
  double close_rows = 0;    // share of token positions whose logits are within 5% rel. RMS
  double max_abs = 0;
  bool finite = true;
};

Difference Compare(const std::vector<float>& base, const std::vector<float>& got, size_t vocab) {
  Difference d;
  double err = 0, ref = 0;
  size_t close = 0, rows = 0;
  for (size_t r = 0; (r + 1) * vocab <= std::min(base.size(), got.size()); ++r, ++rows) {
    double row_err = 0, row_ref = 0;
    for (size_t i = r * vocab; i < (r + 1) * vocab; ++i) {
      d.finite &= std::isfinite(got[i]);
      const double e = double(got[i]) - base[i];
      row_err += e * e;
      row_ref += double(base[i]) * base[i];
      d.max_abs = std::max(d.max_abs, std::fabs(e));
    }
    close += std::sqrt(row_err / row_ref) <= 0.05;
    err += row_err;
    ref += row_ref;
  }
  d.relative_rms = std::sqrt(err / ref);
  d.close_rows = rows ? double(close) / rows : 0;
  return d;
}

// Packs `checkpoint` with every recipe, runs both nodes of each, checks (a) and (b) and prints
// one line per recipe and node.
void CheckRecipes(const std::string& label, const std::string& checkpoint,
                  const std::vector<std::vector<int32_t>>& sequences, bool packed_llama4,
                  const std::vector<Recipe>& extra = {}) {
  auto config = LoadModelConfig(checkpoint);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const ExpertPlan plan = TwoGroupPlan(*config);
  TempDir tmp;
  std::map<std::string, NodeRun> keep;
  std::vector<Recipe> recipes = Recipes(packed_llama4);
  recipes.insert(recipes.end(), extra.begin(), extra.end());
  for (const Recipe& recipe : recipes) {
    SCOPED_TRACE(label + " recipe " + recipe.name);
    auto dist = Pack(checkpoint, plan, recipe, tmp.Sub(std::to_string(keep.size() + 100)));
    ASSERT_TRUE(dist.ok()) << dist.status().ToString();
    for (int g = 0; g < plan.num_groups; ++g) {
      const std::string node = "node-" + std::to_string(g);
      auto run = RunNode(*dist, node, sequences);
      ASSERT_TRUE(run.ok()) << node << ": " << run.status().ToString();
      if (recipe.json.empty()) {
        EXPECT_EQ(run->quantized_matrices, 0);
        keep[node] = std::move(*run);
        continue;
      }
      EXPECT_GT(run->quantized_matrices, 0) << node << ": no routed expert was quantized";
      const NodeRun& base = keep.at(node);
      ASSERT_EQ(run->logits.size(), base.logits.size());
      const Difference d = Compare(base.logits, run->logits, config->vocab_size);
      const double delta = run->eval.mean_logprob() - base.eval.mean_logprob();
      std::printf(
          "[quant-eval] %-12s %-34s %s: mean logprob %.4f (keep %.4f) delta %+.4f; "
          "logits rel-rms %.4f (%.0f%% of tokens within 5%%) max|d| %.3f\n",
          label.c_str(), recipe.name.c_str(), node.c_str(), run->eval.mean_logprob(),
          base.eval.mean_logprob(), delta, d.relative_rms, 100 * d.close_rows, d.max_abs);
      EXPECT_TRUE(d.finite) << node;
      EXPECT_TRUE(std::isfinite(delta)) << node;
      EXPECT_LE(std::fabs(delta), recipe.max_drop) << node;
      if (recipe.name.starts_with("q8 ")) {  // (a)
        EXPECT_GE(d.close_rows, 0.75) << node;
        EXPECT_LE(d.relative_rms, 0.15) << node;
      }
    }
  }
}

class PackQuantRuntimeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PackQuantRuntimeTest, QuantizedNodesRunCloseToUnquantizedNodes) {
  const std::string family = GetParam();
  CheckRecipes(family, FixtureDir(family), FixtureInputIds(family), family == "llama4");
}

INSTANTIATE_TEST_SUITE_P(Families, PackQuantRuntimeTest, ::testing::ValuesIn(Families()),
                         [](const auto& info) { return info.param; });

// The trained example model on the eval suite (real text of eight domains).
TEST(PackQuantRuntime, ExampleModelOnEvalSuite) {
  const std::string checkpoint =
      std::string(moedist::test_dirs::SourceDir()) + "/examples/model/checkpoint";
  auto model = Model::Open(checkpoint);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto suite = ReadCalibrationSuite(std::string(moedist::test_dirs::SourceDir()) +
                                    "/examples/calibration/eval.jsonl");
  ASSERT_TRUE(suite.ok()) << suite.status().ToString();
  std::vector<std::vector<int32_t>> sequences;
  for (const CalibrationPrompt& p : suite->prompts) {
    auto ids = p.ids.empty() ? EncodeWithModelTokenizer(**model, p.text, false)
                             : Result<std::vector<int32_t>>(p.ids);
    ASSERT_TRUE(ids.ok()) << p.id;
    sequences.push_back(std::move(*ids));
  }
  auto full = EvaluateSequences(**model, sequences, {});
  ASSERT_TRUE(full.ok());
  std::printf("[quant-eval] example full model, unmasked: mean logprob %.4f over %lld tokens\n",
              full->mean_logprob(), static_cast<long long>(full->num_predicted));
  CheckRecipes("example", checkpoint, sequences, false, LowBitRecipes());
}

}  // namespace
}  // namespace moedist::pack_testing
