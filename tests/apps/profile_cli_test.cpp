// `moedist profile` memory flags end to end: --stream-layers records the mode and the peak in
// profile.json and --json, per-layer progress goes to stderr, and --max-rss values that are not
// sizes or are too small exit 2 with a message saying so.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

const std::string kFixture =
    std::string(moedist::test_dirs::FixtureRoot()) + "/fixtures/hf-tiny/qwen3_moe";

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ProfileCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("moedist_profile_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    const auto ref = nlohmann::json::parse(ReadText(kFixture + "/reference.json"));
    std::ofstream suite(dir_ / "suite.jsonl");
    int i = 0;
    for (const auto& ids : ref["input_ids"]) {
      suite << nlohmann::json({{"id", "r" + std::to_string(i++)}, {"domain", "d"}, {"ids", ids}})
                   .dump()
            << "\n";
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  int Run(const std::string& args) {
    const std::string cmd = std::string(MOEDIST_EXE) + " profile " + kFixture + " --suite " +
                            (dir_ / "suite.jsonl").string() + " -o " +
                            (dir_ / "profile.json").string() + " " + args + " >" +
                            (dir_ / "stdout").string() + " 2>" + (dir_ / "stderr").string();
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string Out() { return ReadText(dir_ / "stdout"); }
  std::string Err() { return ReadText(dir_ / "stderr"); }
  fs::path dir_;
};

TEST_F(ProfileCliTest, StreamLayersRecordsModeAndPeak) {
  ASSERT_EQ(Run("--layers all --stream-layers --max-rss 64G --json"), 0) << Err();
  const auto summary = nlohmann::json::parse(Out());
  EXPECT_EQ(summary["execution"]["mode"], "layer-stream");
  EXPECT_EQ(summary["execution"]["max_rss_bytes"], uint64_t{64} << 30);
  EXPECT_GT(summary["execution"]["peak_rss_bytes"].get<uint64_t>(), 0u);
  const auto profile = nlohmann::json::parse(ReadText(dir_ / "profile.json"));
  EXPECT_EQ(profile["execution"], summary["execution"]);
  EXPECT_NE(Err().find("profile: layer by layer"), std::string::npos) << Err();
  EXPECT_NE(Err().find("profile: layer 0 done"), std::string::npos) << Err();
}

TEST_F(ProfileCliTest, TextSummaryNamesTheModeAndPeak) {
  ASSERT_EQ(Run(""), 0) << Err();
  EXPECT_NE(Out().find("prompt-by-prompt: peak RSS"), std::string::npos) << Out();
}

TEST_F(ProfileCliTest, MaxRssThatIsNotASizeIsAUsageError) {
  EXPECT_EQ(Run("--max-rss 2X"), 2);
  EXPECT_NE(Err().find("--max-rss \"2X\": unknown suffix"), std::string::npos) << Err();
  EXPECT_EQ(Run("--max-rss 0"), 2);
}

TEST_F(ProfileCliTest, MaxRssBelowTheEstimateIsRefusedBeforeRunning) {
  EXPECT_EQ(Run("--layers all --max-rss 1M"), 2);
  EXPECT_NE(Err().find("--max-rss 1.00 MiB is too small"), std::string::npos) << Err();
  EXPECT_NE(Err().find("give --max-rss"), std::string::npos) << Err();
  EXPECT_FALSE(fs::exists(dir_ / "profile.json"));
}

}  // namespace
}  // namespace moedist
