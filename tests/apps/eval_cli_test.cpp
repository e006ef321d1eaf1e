// `moedist eval` end to end on a Hugging Face fixture: --ids in, --logits-out and --routing-out
// compared with the transformers reference, --json summary, a mask, and bad inputs with their
// exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "formats/safetensors_reader.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

const std::string kFixture =
    std::string(moedist::test_dirs::FixtureRoot()) + "/fixtures/hf-tiny/deepseek_v3";

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<float> ReadF32(const SafetensorsFile& f, const std::string& name) {
  const SafetensorsTensor* t = f.Find(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t) return {};
  std::vector<float> v(t->num_elements());
  std::memcpy(v.data(), f.TensorBytes(*t).data(), v.size() * 4);
  return v;
}

class EvalCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("moedist_eval_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    ref_ = nlohmann::json::parse(ReadText(kFixture + "/reference.json"));
    std::ofstream(dir_ / "ids.json") << ref_["input_ids"].dump();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs moedist with `args`; returns the exit code and keeps stdout / stderr.
  int Run(const std::string& args) {
    const std::string cmd = std::string(MOEDIST_EXE) + " eval " + args + " >" +
                            (dir_ / "stdout").string() + " 2>" + (dir_ / "stderr").string();
    const int rc = std::system(cmd.c_str());
    out_ = ReadText(dir_ / "stdout");
    err_ = ReadText(dir_ / "stderr");
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  fs::path dir_;
  nlohmann::json ref_;
  std::string out_, err_;
};

TEST_F(EvalCliTest, LogitsRoutingAndSummaryMatchReference) {
  const fs::path logits = dir_ / "logits.safetensors", routing = dir_ / "routing.json";
  ASSERT_EQ(Run(kFixture + " --ids " + (dir_ / "ids.json").string() + " --logits-out " +
                logits.string() + " --routing-out " + routing.string() + " --json"),
            0)
      << err_;
  // Logits [B, S, V] within 1e-4 of transformers.
  auto mine = SafetensorsFile::Open(logits.string());
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  const SafetensorsTensor* t = (*mine)->Find("logits");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, DType::kF32);
  EXPECT_EQ(t->shape, (std::vector<uint64_t>{2, 12, 256}));
  auto ref = SafetensorsFile::Open(kFixture + "/reference.safetensors");
  ASSERT_TRUE(ref.ok());
  const std::vector<float> got = ReadF32(**mine, "logits"), want = ReadF32(**ref, "logits");
  ASSERT_EQ(got.size(), want.size());
  float worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
  EXPECT_LE(worst, 1e-4f);
  // Routing: same expert sets per layer and token (token b*S + s).
  const nlohmann::json r = nlohmann::json::parse(ReadText(routing));
  for (const auto& [layer, rows] : ref_["topk_indices"].items()) {
    ASSERT_TRUE(r.contains(layer)) << layer;
    ASSERT_EQ(r[layer].size(), rows.size());
    for (size_t tok = 0; tok < rows.size(); ++tok) {
      EXPECT_EQ(r[layer][tok].get<std::set<int>>(), rows[tok].get<std::set<int>>())
          << "layer " << layer << " token " << tok;
    }
  }
  EXPECT_FALSE(r.contains("0"));  // the dense layer has no routing
  // Summary.
  const nlohmann::json s = nlohmann::json::parse(out_);
  EXPECT_EQ(s["tokens"], 24);
  EXPECT_EQ(s["predicted_tokens"], 22);
  EXPECT_NEAR(std::exp(-s["mean_logprob"].get<double>()), s["perplexity"].get<double>(), 1e-6);
}

TEST_F(EvalCliTest, MaskFileChangesRoutingAsReference) {
  const auto& m = ref_["masked"][1];  // mask_b
  std::ofstream(dir_ / "mask.json") << nlohmann::json{{"allowed", m["allowed_experts"]}}.dump();
  const fs::path logits = dir_ / "logits.safetensors";
  ASSERT_EQ(Run(kFixture + " --ids " + (dir_ / "ids.json").string() + " --mask " +
                (dir_ / "mask.json").string() + " --logits-out " + logits.string()),
            0)
      << err_;
  EXPECT_NE(out_.find("perplexity"), std::string::npos);
  auto mine = SafetensorsFile::Open(logits.string());
  auto ref = SafetensorsFile::Open(kFixture + "/reference.safetensors");
  ASSERT_TRUE(mine.ok() && ref.ok());
  const std::vector<float> got = ReadF32(**mine, "logits");
  const std::vector<float> want = ReadF32(**ref, m["name"].get<std::string>() + ".logits");
  float worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
  EXPECT_LE(worst, 1e-4f);
}

TEST_F(EvalCliTest, BadInputsFailWithReasonAndExitCode) {
  const std::string ids = " --ids " + (dir_ / "ids.json").string();
  std::ofstream(dir_ / "bad_mask.json") << R"({"allowed": [0, 1, 2, 99]})";
  EXPECT_EQ(Run(kFixture + ids + " --mask " + (dir_ / "bad_mask.json").string()), 3);
  EXPECT_NE(err_.find("expert id 99 is out of range"), std::string::npos) << err_;
  EXPECT_NE(err_.find("bad_mask.json"), std::string::npos) << err_;

  std::ofstream(dir_ / "few_mask.json") << R"({"layers": {"2": [0, 1]}})";
  EXPECT_EQ(Run(kFixture + ids + " --mask " + (dir_ / "few_mask.json").string()), 3);
  EXPECT_NE(err_.find("layer 2 allows 2 expert(s)"), std::string::npos) << err_;

  std::ofstream(dir_ / "big_ids.json") << "[[1, 2, 256]]";
  EXPECT_EQ(Run(kFixture + " --ids " + (dir_ / "big_ids.json").string()), 3);
  EXPECT_NE(err_.find("token id 256 is out of range"), std::string::npos) << err_;

  std::ofstream(dir_ / "ragged.json") << "[[1, 2, 3], [4, 5]]";
  EXPECT_EQ(Run(kFixture + " --ids " + (dir_ / "ragged.json").string() + " --logits-out " +
                (dir_ / "x.safetensors").string()),
            2);
  EXPECT_NE(err_.find("equal length"), std::string::npos) << err_;
  EXPECT_FALSE(fs::exists(dir_ / "x.safetensors"));

  EXPECT_EQ(Run(kFixture), 2);  // neither --ids nor --text
  EXPECT_EQ(Run(kFixture + " --ids " + (dir_ / "missing.json").string()), 4);
  EXPECT_EQ(Run((dir_ / "no_model").string() + ids), 4);
}

}  // namespace
}  // namespace moedist
