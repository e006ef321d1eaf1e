// `moedist tiers` end to end on the hf-tiny Qwen3-MoE: profiles of two different prompts (one
// as calibration, one as eval) give a JSON report whose resident set stays within --tier-bytes
// and whose -ot rules name whole layers within --gpu-bytes; an eval profile missing a layer is
// bad input (exit 3) naming the layer, a budget that is not a size is a usage error (exit 2).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/apps/cli_testutil.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
using cli_testing::RunMoedist;
using cli_testing::Slurp;

const std::string kFixture =
    std::string(moedist::test_dirs::FixtureRoot()) + "/fixtures/hf-tiny/qwen3_moe";

class TiersCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("moedist_tiers_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const auto ref = nlohmann::json::parse(Slurp(kFixture + "/reference.json"));
    ASSERT_GE(ref["input_ids"].size(), 2u);
    for (size_t i : {0, 1}) {
      std::ofstream(dir_ / ("suite" + std::to_string(i) + ".jsonl"))
          << nlohmann::json({{"id", "r0"}, {"domain", "d"}, {"ids", ref["input_ids"][i]}}).dump()
          << "\n";
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Profiles suite `i` into profile<i>.json over `layers`.
  void Profile(int i, const std::string& layers) {
    const std::string suite = (dir_ / ("suite" + std::to_string(i) + ".jsonl")).string();
    auto r = RunMoedist(
        "profile " + kFixture + " --suite " + suite + " --layers " + layers + " -o " + Path(i),
        dir_);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  std::string Path(int i) { return (dir_ / ("profile" + std::to_string(i) + ".json")).string(); }
  fs::path dir_;
};

TEST_F(TiersCliTest, JsonReportKeepsBudgetsAndMeasuresEvalSeparately) {
  ASSERT_NO_FATAL_FAILURE(Profile(0, "all"));
  ASSERT_NO_FATAL_FAILURE(Profile(1, "all"));
  const auto cal = nlohmann::json::parse(Slurp(Path(0)));
  const uint64_t expert = cal["model"]["expert_bytes"]["0"][0].get<uint64_t>();
  const uint64_t tier_bytes = 3 * expert + expert / 2, gpu_bytes = 8 * expert + 1;
  auto r = RunMoedist("tiers " + Path(0) + " --eval-profile " + Path(1) + " --tier-bytes " +
                          std::to_string(tier_bytes) + " --gpu-bytes " + std::to_string(gpu_bytes) +
                          " --json",
                      dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& res = j["tiers"]["resident"];
  EXPECT_LE(res["bytes"].get<uint64_t>(), tier_bytes);
  EXPECT_EQ(res["bytes"].get<uint64_t>(), 3 * expert);  // equal sizes: greedy fills the budget
  EXPECT_EQ(res["eval"]["tokens"], nlohmann::json::parse(Slurp(Path(1)))["tokens"]);
  for (const auto& [layer, lt] : j["tiers"]["layers"].items()) {
    EXPECT_GE(lt["mass"]["90"]["calibration"]["gate_mass"].get<double>(), 0.9) << layer;
  }
  const auto& llama = j["llama_cpp"];
  EXPECT_LE(llama["bytes"].get<uint64_t>(), gpu_bytes);
  EXPECT_EQ(llama["bytes"].get<uint64_t>(), 8 * expert);  // one whole layer of 8 experts
  ASSERT_EQ(llama["args"].size(), 4u);
  EXPECT_EQ(llama["args"][1], R"(blk\.(0)\.ffn_(up|down|gate|gate_up)_(ch|)exps=CUDA0)");
  // The text form prints the same rules, ready to paste.
  auto text = RunMoedist("tiers " + Path(0) + " --gpu-bytes " + std::to_string(gpu_bytes), dir_);
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("-ot 'blk\\.(0)\\."), std::string::npos) << text.out;
}

TEST_F(TiersCliTest, EvalProfileWithoutTheLayerIsBadInputAndBadBudgetIsUsage) {
  ASSERT_NO_FATAL_FAILURE(Profile(0, "all"));
  ASSERT_NO_FATAL_FAILURE(Profile(1, "0"));
  auto r = RunMoedist("tiers " + Path(0) + " --eval-profile " + Path(1), dir_);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("layer 1"), std::string::npos) << r.err;
  auto bad = RunMoedist("tiers " + Path(0) + " --tier-bytes lots", dir_);
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--tier-bytes"), std::string::npos) << bad.err;
  auto help = RunMoedist("tiers --help", dir_);
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--gpu-bytes"), std::string::npos);
}

}  // namespace
}  // namespace moedist
