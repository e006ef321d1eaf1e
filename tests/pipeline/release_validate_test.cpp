// ValidateRelease end to end: profile → plan → pack → validate on the trained example model
// (examples/model/checkpoint, real tokenizer, examples/calibration/{calibration,eval}.jsonl) and
// pack → validate on every hf-tiny family (token-id prompts from reference.json). Checked: the
// release passes; unquantized nodes equal the masked full model bit for bit; a tampered file
// fails verify and the node that needs it is reported with the file named; an impossible
// threshold fails the nodes it should; the manifest's validation section is written and signed
// (or its stale signature removed); the JSON and HTML reports are published atomically; the
// hotness tiers section carries the release's bytes and coverage measured on the eval suite.
#include "pipeline/release_validate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/json_strict.h"
#include "manifest/release_verify.h"
#include "pack_fixture_testutil.h"
#include "pipeline/gate_profiler.h"
#include "pipeline/pack_recipe.h"
#include "pipeline/planner.h"
#include "tests/test_dirs.h"

namespace moedist::pack_testing {
namespace {

namespace fs = std::filesystem;

std::string ExampleDir() {
  return std::string(moedist::test_dirs::SourceDir()) + "/examples/model/checkpoint";
}
std::string ExampleSuite(const std::string& name) {
  return std::string(moedist::test_dirs::SourceDir()) + "/examples/calibration/" + name + ".jsonl";
}

// Profiles the example model once for every test here.
const GateProfile& ExampleProfile() {
  static const GateProfile* profile = [] {
    ProfileOptions o;
    o.checkpoint = ExampleDir();
    o.suite = ExampleSuite("calibration");
    o.layers = "all";
    o.max_tokens_per_prompt = 128;
    auto p = RunGateProfile(o);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return new GateProfile(p.ok() ? *p : GateProfile{});
  }();
  return *profile;
}

ExpertPlan ExamplePlan(const std::string& strategy) {
  PlanOptions o;
  o.groups = 2;
  o.overlay = 2;
  o.strategy = strategy;
  auto r = MakePlan(ExampleProfile(), "profile.json", o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->plan : ExpertPlan{};
}

// Validation options kept small so the suite stays quick. Prompts are cut to 7 tokens, below
// runtime-min's kGemmMinRows (8): longer prompts take OpenBLAS sgemm, whose router product
// [T, H] x [E, H]^T differs in the last bit between E = 16 (full model) and E = 10 (a sliced
// node) at rare positions (measured on the example: first at position 48 of 256, max |diff|
// 1.5e-5 in the logits), so bit-for-bit equality holds today only on the row-wise kernel.
// docs/commands/validate.md records this; the fix belongs in runtime-min's router.
ValidateOptions SmallOptions(const std::string& dist, const std::string& ckpt,
                             const std::string& eval, const TempDir& tmp) {
  ValidateOptions v;
  v.dist_dir = dist;
  v.checkpoint_dir = ckpt;
  v.eval_path = eval;
  v.allow_unsigned = true;
  v.max_prompt_tokens = 7;
  // A node of 10 of the example's 16 specialised experts loses 1-1.6 nats/token over all
  // eight domains (docs/commands/validate.md); these tests are about the mechanics.
  v.thresholds.max_logprob_drop = 5;
  v.thresholds.max_placed_logprob_drop = 5;
  v.thresholds.min_distinct_2 = 0;
  v.thresholds.max_distinct_2_drop = 1;
  v.generation_prompts = 4;
  v.generation_new_tokens = 24;
  v.report_dir = tmp.Sub("report");
  v.scratch_dir = tmp.Sub("scratch");
  return v;
}

const NodeValidation* FindNode(const ValidationReport& r, const std::string& id) {
  for (const NodeValidation& n : r.nodes) {
    if (n.node == id) return &n;
  }
  return nullptr;
}

class ExampleRelease : public ::testing::Test {
 protected:
  void Pack(const std::string& strategy, const PackRecipe& recipe = KeepRecipe()) {
    PackRequest req = MakeRequest(ExampleDir(), ExamplePlan(strategy), dist_);
    req.recipe = recipe;
    auto packed = PackRelease(req);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
  }
  TempDir tmp_;
  std::string dist_ = tmp_.Sub("dist");
};

TEST_F(ExampleRelease, PlacementWithOverlayPassesAndNodesAreExact) {
  ASSERT_NO_FATAL_FAILURE(Pack("placement"));
  ValidateOptions v = SmallOptions(dist_, ExampleDir(), ExampleSuite("eval"), tmp_);
  auto r = ValidateRelease(v);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->passed()) << ValidationReportToJson(*r).dump(2);
  ASSERT_EQ(r->nodes.size(), 2u);
  ASSERT_TRUE(r->full.quality.has_value());
  EXPECT_EQ(r->full.quality->tokens_scored, static_cast<int64_t>(r->eval_prompt_ids.size()) * 6);
  for (const NodeValidation& n : r->nodes) {
    SCOPED_TRACE(n.node);
    EXPECT_EQ(n.verify, CheckState::kPassed);
    EXPECT_EQ(n.load, CheckState::kPassed) << n.load_error;
    EXPECT_EQ(n.equivalence, CheckState::kPassed) << n.equivalence_detail;
    ASSERT_TRUE(n.delta_vs_full.has_value());
    // A node holds 8 + 2 of 16 experts: it cannot match the full model on every domain.
    EXPECT_LT(*n.delta_vs_full, 0.0);
    EXPECT_EQ(n.quality->tokens_scored, r->full.quality->tokens_scored);
    // The recipe keeps every tensor: the quantized full model is the full model.
    ASSERT_TRUE(n.delta_vs_quantized_full.has_value());
    EXPECT_EQ(*n.delta_vs_quantized_full, *n.delta_vs_full);
    EXPECT_EQ(n.degeneracy->samples.size(), 4u);
  }
  // The manifest now records the verdict and still verifies (unsigned: there was no signature).
  auto text = ReadManifestFile(dist_ + "/distribution.json");
  ASSERT_TRUE(text.ok());
  auto d = ParseDistribution(*text, "distribution.json");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->validation.at("passed"), true);
  EXPECT_EQ(d->validation.at("nodes").size(), 2u);
  EXPECT_EQ(d->validation.at("eval").at("sha256"), r->eval_sha256);
  EXPECT_TRUE(r->manifest_updated);
  VerifyOptions vo;
  vo.dist_dir = dist_;
  vo.allow_unsigned = true;
  EXPECT_TRUE(VerifyRelease(vo).ok());
  // Validating again gives the same manifest bytes (nothing machine- or time-dependent).
  auto again = ValidateRelease(v);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->manifest_updated);
  EXPECT_EQ(*ReadManifestFile(dist_ + "/distribution.json"), *text);
  // Reports: exactly the two files, complete, no temporaries left.
  EXPECT_EQ(ListFiles(v.report_dir),
            (std::vector<std::string>{"validation.html", "validation.json"}));
  auto j = ParseJsonStrict(ReadAll(v.report_dir + "/validation.json"), "validation.json");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ((*j)["passed"], true);
  const std::string html = ReadAll(v.report_dir + "/validation.html");
  EXPECT_TRUE(html.ends_with("</html>\n"));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
}

TEST_F(ExampleRelease, ProfileGivesConcentrationCurveAndHeatmap) {
  ASSERT_NO_FATAL_FAILURE(Pack("contiguous"));
  const std::string profile = tmp_.Sub("profile.json");
  ASSERT_TRUE(WriteGateProfile(ExampleProfile(), profile).ok());
  ValidateOptions v = SmallOptions(dist_, ExampleDir(), ExampleSuite("eval"), tmp_);
  v.profile_path = profile;
  v.generation_prompts = 1;
  auto r = ValidateRelease(v);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string html = ReadAll(v.report_dir + "/validation.html");
  EXPECT_NE(html.find("Concentration curve"), std::string::npos);
  // One heatmap cell per layer and expert.
  size_t cells = 0;
  for (size_t at = 0; (at = html.find("% of the mass", at)) != std::string::npos; ++at) ++cells;
  EXPECT_EQ(cells, ExampleProfile().layers.size() * 16);
}

// Hotness tiers on the example model: validate prices experts in the release's bytes (routed
// experts q8_0, overlay experts kept in bf16), keeps the resident set within --tier-bytes, and
// takes the eval coverage from a profile of the eval suite, recomputed here independently.
TEST_F(ExampleRelease, TiersSectionHasReleaseBytesAndEvalCoverage) {
  auto recipe = ParseRecipe(
      R"({"name": "t", "classes": {"routed_expert": "q8_0", "overlay": "keep"}})", "test");
  ASSERT_TRUE(recipe.ok()) << recipe.status().ToString();
  ASSERT_NO_FATAL_FAILURE(Pack("placement", *recipe));
  const GateProfile& cal = ExampleProfile();
  const std::string profile = tmp_.Sub("profile.json");
  ASSERT_TRUE(WriteGateProfile(cal, profile).ok());
  ValidateOptions v = SmallOptions(dist_, ExampleDir(), ExampleSuite("eval"), tmp_);
  v.profile_path = profile;
  v.generation_prompts = 1;
  const uint64_t source_bytes = cal.expert_bytes.at(0)[0];  // bf16: 2 bytes a value
  const uint64_t q8_bytes = source_bytes / 2 / 32 * 34;     // q8_0: 34 bytes per 32 values
  v.tier_bytes = 10 * q8_bytes + q8_bytes / 2;
  auto r = ValidateRelease(v);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto j = ParseJsonStrict(ReadAll(dist_ + "/distribution.json"), "distribution.json");
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE(j->contains("tiers"));
  const nlohmann::json& t = (*j)["tiers"];
  EXPECT_EQ(t["bytes_source"], "release");
  for (const auto& [layer, lt] : t["layers"].items()) {
    const auto& overlay = (*j)["partition"]["layers"][layer]["overlay"];
    for (size_t e = 0; e < lt["expert_bytes"].size(); ++e) {
      const bool in_overlay =
          std::find(overlay.begin(), overlay.end(), nlohmann::json(e)) != overlay.end();
      EXPECT_EQ(lt["expert_bytes"][e], in_overlay ? source_bytes : q8_bytes)
          << "layer " << layer << " expert " << e;
    }
    EXPECT_GE(lt["mass"]["90"]["calibration"]["gate_mass"].get<double>(), 0.9);
  }
  const nlohmann::json& res = t["resident"];
  uint64_t bytes = 0;
  for (const auto& [layer, experts] : res["experts"].items()) {
    for (int e : experts) bytes += t["layers"][layer]["expert_bytes"][e].get<uint64_t>();
  }
  EXPECT_EQ(res["bytes"], bytes);
  EXPECT_LE(bytes, *v.tier_bytes);
  // The eval suite profiled here as validate must have: same layers, prompts cut alike.
  ProfileOptions po;
  po.checkpoint = ExampleDir();
  po.suite = ExampleSuite("eval");
  po.layers = "all";
  po.max_tokens_per_prompt = v.max_prompt_tokens;
  po.topm = cal.topm;
  auto eval = RunGateProfile(po);
  ASSERT_TRUE(eval.ok()) << eval.status().ToString();
  double in = 0, all = 0;
  for (const LayerGateProfile& lp : eval->layers) {
    for (size_t e = 0; e < lp.gate_mass.size(); ++e) all += lp.gate_mass[e];
    const std::string key = std::to_string(lp.layer);
    if (!res["experts"].contains(key)) continue;
    for (int e : res["experts"][key]) in += lp.gate_mass[e];
  }
  EXPECT_EQ(res["eval"]["tokens"], eval->tokens);
  EXPECT_NE(res["eval"]["tokens"], res["calibration"]["tokens"]);
  EXPECT_NEAR(res["eval"]["gate_mass"].get<double>(), in / all, 1e-9);
  // A budget for a manifest that will not be written is refused, not ignored.
  v.update_manifest = false;
  auto refused = ValidateRelease(v);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--tier-bytes"), std::string::npos);
}

TEST_F(ExampleRelease, TamperedGroupFileFailsThatNodeNamingTheFile) {
  ASSERT_NO_FATAL_FAILURE(Pack("contiguous"));
  std::string victim;
  for (const std::string& f : ListFiles(dist_ + "/group-1")) {
    if (f.ends_with(".safetensors")) victim = "group-1/" + f;
  }
  ASSERT_FALSE(victim.empty());
  {
    std::fstream f(dist_ + "/" + victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-100, std::ios::end);
    f.put('\x5a');
  }
  ValidateOptions v = SmallOptions(dist_, ExampleDir(), ExampleSuite("eval"), tmp_);
  v.generation_prompts = 1;
  auto r = ValidateRelease(v);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->passed());
  EXPECT_EQ(r->FailedNodes(), std::vector<std::string>{"node-1"});
  const NodeValidation* bad = FindNode(*r, "node-1");
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->verify, CheckState::kFailed);
  EXPECT_EQ(bad->load, CheckState::kNotRun);  // its bytes are not trusted
  ASSERT_FALSE(bad->failures.empty());
  EXPECT_NE(bad->failures.front().find(victim), std::string::npos) << bad->failures.front();
  const NodeValidation* good = FindNode(*r, "node-0");
  ASSERT_NE(good, nullptr);
  EXPECT_TRUE(good->passed()) << fmt::format("{}", fmt::join(good->failures, "; "));
  auto d = ParseDistribution(*ReadManifestFile(dist_ + "/distribution.json"), "d");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->validation.at("failed_nodes"), nlohmann::json::array({"node-1"}));
}

TEST_F(ExampleRelease, SessionsReportWorstPlacedAndOracle) {
  ASSERT_NO_FATAL_FAILURE(Pack("placement"));
  ValidateOptions v = SmallOptions(dist_, ExampleDir(), ExampleSuite("eval"), tmp_);
  v.generation_prompts = 1;
  v.update_manifest = false;
  v.place_tokens = 5;
  auto r = ValidateRelease(v);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->sessions.has_value());
  const SessionQuality& q = *r->sessions;
  ASSERT_EQ(q.node_delta.size(), 2u);
  // The per-node figures are the nodes' own Δ over every prompt.
  for (size_t g = 0; g < 2; ++g) EXPECT_NEAR(q.node_delta[g], *r->nodes[g].delta_vs_full, 1e-9);
  EXPECT_EQ(q.worst_node, std::min(q.node_delta[0], q.node_delta[1]));
  EXPECT_LE(q.worst_node, q.oracle);  // the oracle is at least every node on every prompt
  EXPECT_LE(q.placed, q.oracle + 1e-12);
  EXPECT_EQ(q.placed_node.size(), r->eval_prompt_ids.size());
  EXPECT_EQ(q.prompts_per_node[0] + q.prompts_per_node[1],
            static_cast<int>(r->eval_prompt_ids.size()));
  EXPECT_EQ(r->place_tokens, 5);
  EXPECT_TRUE(r->placed_failure.empty());
  const auto j = ValidationReportToJson(*r);
  EXPECT_EQ(j["sessions"]["placed"], q.placed);
  EXPECT_EQ(j["thresholds"]["max_placed_logprob_drop"], 5.0);

  // A placed limit the split cannot meet fails the release, though every node passes its own.
  v.thresholds.max_placed_logprob_drop = 0;
  auto strict = ValidateRelease(v);
  ASSERT_TRUE(strict.ok());
  EXPECT_TRUE(strict->FailedNodes().empty());
  EXPECT_FALSE(strict->passed());
  EXPECT_NE(strict->placed_failure.find("placed sessions"), std::string::npos)
      << strict->placed_failure;
}

TEST_F(ExampleRelease, ImpossibleThresholdFailsEveryNode) {
  ASSERT_NO_FATAL_FAILURE(Pack("contiguous"));
  ValidateOptions v = SmallOptions(dist_, ExampleDir(), ExampleSuite("eval"), tmp_);
  v.thresholds.max_logprob_drop = 0;  // a node must predict at least as well as the full model
  v.generation_prompts = 1;
  v.update_manifest = false;
  const std::string before = *ReadManifestFile(dist_ + "/distribution.json");
  auto r = ValidateRelease(v);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->passed());
  EXPECT_EQ(r->FailedNodes(), (std::vector<std::string>{"node-0", "node-1"}));
  for (const NodeValidation& n : r->nodes) {
    EXPECT_EQ(n.quality_check, CheckState::kFailed);
    EXPECT_EQ(n.equivalence, CheckState::kPassed);
  }
  EXPECT_EQ(*ReadManifestFile(dist_ + "/distribution.json"), before);
}

TEST_F(ExampleRelease, SignedReleaseIsSignedAgainOrLosesItsStaleSignature) {
  ASSERT_NO_FATAL_FAILURE(Pack("contiguous"));
  auto key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(SignRelease(dist_, *key).ok());
  ValidateOptions v = SmallOptions(dist_, ExampleDir(), ExampleSuite("eval"), tmp_);
  v.allow_unsigned = false;
  v.trusted_keys = {key->public_key()};
  v.generation_prompts = 1;
  v.sign_key = &*key;
  auto r = ValidateRelease(v);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->manifest_updated);
  EXPECT_TRUE(r->manifest_signed);
  VerifyOptions vo;
  vo.dist_dir = dist_;
  vo.trusted_keys = {key->public_key()};
  EXPECT_TRUE(VerifyRelease(vo).ok());

  // Without a key, a changed section makes the signature stale: it is removed.
  v.sign_key = nullptr;
  v.thresholds.min_distinct_2 = 0.01;  // other thresholds: other section bytes
  r = ValidateRelease(v);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->manifest_updated);
  EXPECT_TRUE(r->signature_removed);
  EXPECT_FALSE(fs::exists(dist_ + "/distribution.json.sig"));
  EXPECT_FALSE(VerifyRelease(vo).ok());
}

TEST_F(ExampleRelease, FailedReportWriteLeavesThePreviousReportWhole) {
  ASSERT_NO_FATAL_FAILURE(Pack("contiguous"));
  ValidateOptions v = SmallOptions(dist_, ExampleDir(), ExampleSuite("eval"), tmp_);
  v.generation_prompts = 1;
  v.update_manifest = false;
  fs::create_directories(v.report_dir + "/validation.html");  // rename onto it fails
  const std::string old_json = "{\"old\": true}\n";
  std::ofstream(v.report_dir + "/validation.json") << old_json;
  auto r = ValidateRelease(v);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(ReadAll(v.report_dir + "/validation.json"), old_json);
  EXPECT_EQ(ListFiles(v.report_dir), std::vector<std::string>{"validation.json"});
}

TEST_F(ExampleRelease, QuantizedNodesLoadOrSaySoClearly) {
  auto recipe =
      ReadRecipeFile(std::string(moedist::test_dirs::SourceDir()) + "/examples/recipes/q8.json");
  ASSERT_TRUE(recipe.ok()) << recipe.status().ToString();
  ASSERT_NO_FATAL_FAILURE(Pack("contiguous", *recipe));
  ValidateOptions v = SmallOptions(dist_, ExampleDir(), ExampleSuite("eval"), tmp_);
  v.generation_prompts = 1;
  v.update_manifest = false;
  auto r = ValidateRelease(v);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->recipe_keeps_everything);
  for (const NodeValidation& n : r->nodes) {
    SCOPED_TRACE(n.node);
    EXPECT_TRUE(n.quantized);
    EXPECT_NE(n.equivalence, CheckState::kPassed);
    if (n.load == CheckState::kPassed) {
      // runtime-min reads quantized weights: both deltas are measured.
      ASSERT_TRUE(r->quantized_full.available) << r->quantized_full.note;
      EXPECT_TRUE(n.delta_vs_quantized_full.has_value());
      EXPECT_EQ(n.equivalence, CheckState::kNotApplicable);
    } else {
      EXPECT_NE(n.load_error.find("quantized nodes cannot be loaded yet"), std::string::npos)
          << n.load_error;
      EXPECT_FALSE(r->quantized_full.available);
      EXPECT_NE(r->quantized_full.note.find("cannot be loaded yet"), std::string::npos);
    }
  }
}

// Every hf-tiny family: token-id prompts from reference.json, a two-group plan with an overlay,
// packed in `format` and validated. Random weights: quality and repetition mean nothing, so
// those thresholds are off; equivalence (and the GGUF comparison) is the point.
Result<ValidationReport> PackAndValidateFixture(const std::string& family, NodeFileFormat format,
                                                TempDir& tmp) {
  ASSIGN_OR_RETURN(std::unique_ptr<Model> full, Model::Open(FixtureDir(family)));
  const std::string dist = tmp.Sub("dist");
  PackRequest req = MakeRequest(FixtureDir(family), TwoGroupPlan(full->config()), dist);
  req.format = format;
  RETURN_IF_ERROR(PackRelease(req).status());
  std::string suite;
  int i = 0;
  for (const auto& ids : FixtureInputIds(family)) {
    suite +=
        nlohmann::json{{"id", fmt::format("ref-{}", i++)}, {"domain", "reference"}, {"ids", ids}}
            .dump() +
        "\n";
  }
  std::ofstream(tmp.Sub("eval.jsonl")) << suite;
  ValidateOptions v = SmallOptions(dist, FixtureDir(family), tmp.Sub("eval.jsonl"), tmp);
  v.thresholds.max_logprob_drop = 1e9;
  v.thresholds.min_distinct_2 = 0;
  v.thresholds.max_distinct_2_drop = 1;
  return ValidateRelease(v);
}

class FixtureValidate : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureValidate, NodesEqualMaskedFullModel) {
  TempDir tmp;
  auto r = PackAndValidateFixture(GetParam(), NodeFileFormat::kSafetensors, tmp);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->passed()) << ValidationReportToJson(*r).dump(2);
  ASSERT_EQ(r->nodes.size(), 2u);
  for (const NodeValidation& n : r->nodes) {
    SCOPED_TRACE(n.node);
    EXPECT_EQ(n.load, CheckState::kPassed) << n.load_error;
    EXPECT_EQ(n.equivalence, CheckState::kPassed) << n.equivalence_detail;
    EXPECT_EQ(n.max_abs_logit_diff, 0.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, FixtureValidate, ::testing::ValuesIn(Families()),
                         [](const auto& info) { return info.param; });

// pack --format both: validate also runs each node's GGUF file and finds the same logits.
// (OLMoE's GQA fixture and DeepSeek's grouped top-k are refused by the GGUF export.)
class FixtureValidateGguf : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureValidateGguf, GgufNodesEqualSafetensorsNodes) {
  TempDir tmp;
  auto r = PackAndValidateFixture(GetParam(), NodeFileFormat::kBoth, tmp);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->passed()) << ValidationReportToJson(*r).dump(2);
  ASSERT_EQ(r->nodes.size(), 2u);
  for (const NodeValidation& n : r->nodes) {
    SCOPED_TRACE(n.node);
    EXPECT_EQ(n.gguf, CheckState::kPassed) << n.gguf_detail;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, FixtureValidateGguf,
                         ::testing::Values("qwen3_moe", "qwen2_moe", "mixtral", "llama4"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace moedist::pack_testing
