#include "pipeline/gate_profiler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "formats/safetensors_reader.h"
#include "pipeline/calibration_suite.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
const fs::path kHfTiny = fs::path(moedist::test_dirs::FixtureRoot()) / "fixtures" / "hf-tiny";

fs::path TempPath(const std::string& name) {
  return fs::temp_directory_path() /
         ("moedist-profiler-" + std::to_string(::getpid()) + "-" + name);
}

class FixtureProfile : public testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(HfTiny, FixtureProfile,
                         testing::Values("qwen3_moe", "qwen2_moe", "mixtral", "olmoe",
                                         "deepseek_v3", "llama4"),
                         [](const auto& info) { return info.param; });

// Profiling the reference input records exactly the experts transformers chose (f32 compute
// for the bf16 checkpoints), token for token, through selection and co-activation counts.
TEST_P(FixtureProfile, SelectionsEqualTransformersTopK) {
  const fs::path dir = kHfTiny / GetParam();
  auto ref_text = ReadSmallFile((dir / "reference.json").string(), 1 << 20);
  ASSERT_TRUE(ref_text.ok());
  auto ref = ParseJsonStrict(*ref_text, "reference.json");
  ASSERT_TRUE(ref.ok());
  const fs::path suite = TempPath(GetParam() + ".jsonl");
  {
    std::ofstream out(suite);
    int i = 0;
    for (const auto& ids : (*ref)["input_ids"]) {
      out << nlohmann::json({{"id", "ref" + std::to_string(i++)}, {"domain", "ref"}, {"ids", ids}})
                 .dump()
          << "\n";
    }
  }
  ProfileOptions o;
  o.checkpoint = dir.string();
  o.suite = suite.string();
  o.layers = "all";
  auto profile = RunGateProfile(o);
  fs::remove(suite);
  ASSERT_TRUE(profile.ok()) << profile.status().ToString();
  auto tensors = SafetensorsFile::Open((dir / "reference.safetensors").string());
  ASSERT_TRUE(tensors.ok());
  const int E = profile->num_experts, k = profile->top_k;
  ASSERT_EQ(profile->layers.size(), (*ref)["moe_layers"].size());
  for (const auto& l : profile->layers) {
    std::string name = "f32_compute.topk_indices." + std::to_string(l.layer);
    const SafetensorsTensor* t = (*tensors)->Find(name);
    if (t == nullptr) t = (*tensors)->Find("topk_indices." + std::to_string(l.layer));
    ASSERT_NE(t, nullptr);
    ASSERT_EQ(t->dtype, DType::kI64);
    auto bytes = (*tensors)->TensorBytes(*t);
    const int64_t* idx = reinterpret_cast<const int64_t*>(bytes.data());
    const size_t tokens = t->shape[0];
    ASSERT_EQ(tokens, profile->tokens);
    std::vector<uint64_t> count(E, 0);
    std::vector<uint32_t> pairs(static_cast<size_t>(E) * E, 0);
    for (size_t i = 0; i < tokens; ++i) {
      for (int a = 0; a < k; ++a) {
        count[idx[i * k + a]] += 1;
        for (int b = 0; b < k; ++b) {
          if (a != b) pairs[idx[i * k + a] * E + idx[i * k + b]] += 1;
        }
      }
    }
    EXPECT_EQ(l.selection_count, count) << "layer " << l.layer;
    EXPECT_EQ(l.coactivation, pairs) << "layer " << l.layer;
    EXPECT_EQ(std::accumulate(count.begin(), count.end(), 0ull), tokens * k);
    // Normalised probabilities: every token contributes exactly 1 to the layer's gate mass.
    const double mass = std::accumulate(l.gate_mass.begin(), l.gate_mass.end(), 0.0);
    EXPECT_NEAR(mass, static_cast<double>(tokens), 1e-4 * tokens) << "layer " << l.layer;
    EXPECT_EQ(l.nonfinite_tokens, 0u);
  }
}

TEST(ProfileLayers, SelectionSpecs) {
  const std::vector<int> moe = {1, 2, 3, 5, 7};
  auto r = SelectProfileLayers("", moe, 8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<int>{1, 2, 3, 5}));
  r = SelectProfileLayers("all", moe, 8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 5u);
  r = SelectProfileLayers("0-3,7", moe, 8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<int>{1, 2, 3, 7}));
  EXPECT_FALSE(SelectProfileLayers("0", moe, 8).ok());  // a dense layer only
  EXPECT_FALSE(SelectProfileLayers("9", moe, 8).ok());  // out of range
  EXPECT_FALSE(SelectProfileLayers("3-1", moe, 8).ok());
  EXPECT_FALSE(SelectProfileLayers("x", moe, 8).ok());
}

struct BadSuite {
  std::string text;
  std::string expect;
};

TEST(CalibrationSuite, BadInputIsAClearErrorWithTheLine) {
  const BadSuite cases[] = {
      {"{\"id\":\"a\",\"domain\":\"d\",\"text\":\"\xff\"}\n", "suite.jsonl:1: invalid JSON"},
      {"{\"id\":\"a\",\"domain\":\"d\",\"text\":\"\"}\n", "empty text"},
      {"{\"id\":\"a\",\"domain\":\"d\",\"text\":\"x\",\"lang\":\"en\"}\n",
       "unknown field \"lang\""},
      {"{\"id\":\"a\",\"domain\":\"d\",\"text\":\"x\"}\n\n{\"id\":\"b\",\"domain\":\"d\",\"text\":"
       "\"y\"}\n",
       "suite.jsonl:2: blank line"},
      {"{\"id\":\"a\",\"domain\":\"d\",\"text\":\"x\"}\n{\"id\":\"a\",\"domain\":\"d\",\"text\":"
       "\"y\"}\n",
       "suite.jsonl:2: duplicate prompt id"},
      {"{\"id\":\"a\",\"domain\":\"d\",\"ids\":[1,-2]}\n", "token ids"},
      {"{\"id\":\"a\",\"domain\":\"d\",\"ids\":[]}\n", "empty ids"},
      {"{\"id\":\"a\",\"domain\":\"d\",\"ids\":[1],\"text\":\"x\"}\n", "exactly one of"},
      {"{\"domain\":\"d\",\"text\":\"x\"}\n", "missing or empty \"id\""},
      {"", "no prompts"},
      {"[1,2]\n", "expected a JSON object"},
  };
  for (const BadSuite& c : cases) {
    auto r = ParseCalibrationSuite(c.text, "suite.jsonl");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << "got: " << r.status().message() << "\nwant: " << c.expect;
  }
  std::string huge =
      "{\"id\":\"a\",\"domain\":\"d\",\"text\":\"" + std::string(17u << 20, 'x') + "\"}";
  auto r = ParseCalibrationSuite(huge, "suite.jsonl");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("byte limit"), std::string::npos);
  auto ok = ParseCalibrationSuite("{\"id\":\"a\",\"domain\":\"d\",\"text\":\"x\"}\r\n", "s");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->sha256.size(), 64u);
}

TEST(Profiler, IdsOutsideTheVocabularyAreRefused) {
  const fs::path suite = TempPath("oov.jsonl");
  std::ofstream(suite) << "{\"id\":\"a\",\"domain\":\"d\",\"ids\":[1,2,99999]}\n";
  ProfileOptions o;
  o.checkpoint = (kHfTiny / "qwen3_moe").string();
  o.suite = suite.string();
  auto r = RunGateProfile(o);
  fs::remove(suite);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("prompt \"a\""), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("99999"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace moedist

namespace moedist {
namespace {

// The shipped suites parse, cover the promised domains, and share no prompt text.
TEST(ExampleSuites, ParseAndAreDisjoint) {
  const fs::path dir = fs::path(moedist::test_dirs::SourceDir()) / "examples" / "calibration";
  auto calib = ReadCalibrationSuite((dir / "calibration.jsonl").string());
  auto eval = ReadCalibrationSuite((dir / "eval.jsonl").string());
  ASSERT_TRUE(calib.ok()) << calib.status().ToString();
  ASSERT_TRUE(eval.ok()) << eval.status().ToString();
  std::set<std::string> domains, texts;
  for (const auto& p : calib->prompts) {
    domains.insert(p.domain);
    texts.insert(p.text);
  }
  EXPECT_GE(domains.size(), 6u);
  EXPECT_TRUE(domains.count("code-python") && domains.count("code-c") &&
              domains.count("prose-english") && domains.count("numbers") &&
              domains.count("lang-german"));
  for (const auto& p : eval->prompts) EXPECT_FALSE(texts.count(p.text)) << p.id;
}

}  // namespace
}  // namespace moedist
