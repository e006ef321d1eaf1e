// `moedist profile --imatrix` and `moedist pack --imatrix` end to end: profile writes an imatrix
// GGUF the strict reader accepts and reports it in --json; pack quantizes with it, names its
// SHA-256 in --json and distribution.json, and refuses a file of another model with exit 2.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "formats/imatrix_gguf.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = std::string(moedist::test_dirs::FixtureRoot()) + "/fixtures/hf-tiny/";

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ImatrixCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("moedist_imatrix_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes DIR/suite.jsonl from the fixture's reference input ids.
  void WriteSuite(const std::string& family) {
    const auto ref = nlohmann::json::parse(ReadText(kFixtures + family + "/reference.json"));
    std::ofstream suite(dir_ / "suite.jsonl");
    int i = 0;
    for (const auto& ids : ref["input_ids"]) {
      suite << nlohmann::json({{"id", "r" + std::to_string(i++)}, {"domain", "d"}, {"ids", ids}})
                   .dump()
            << "\n";
    }
  }
  int Run(const std::string& args) {
    const std::string cmd = std::string(MOEDIST_EXE) + " " + args + " >" +
                            (dir_ / "stdout").string() + " 2>" + (dir_ / "stderr").string();
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string Profile(const std::string& family, const std::string& imatrix) {
    WriteSuite(family);
    const std::string out = (dir_ / (family + ".profile.json")).string();
    EXPECT_EQ(Run("profile " + kFixtures + family + " --suite " + (dir_ / "suite.jsonl").string() +
                  " --layers all --stream-layers --imatrix " + imatrix + " -o " + out + " --json"),
              0)
        << Err();
    return out;
  }
  // Every file below `dir`, in name order, concatenated.
  static std::string Concat(const std::string& dir) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::string all;
    for (const fs::path& f : files) all += ReadText(f);
    return all;
  }
  std::string Out() { return ReadText(dir_ / "stdout"); }
  std::string Err() { return ReadText(dir_ / "stderr"); }
  std::string P(const std::string& name) { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(ImatrixCliTest, ProfileWritesAndPackUsesIt) {
  const std::string imatrix = P("qwen3.imatrix.gguf");
  const std::string profile = Profile("qwen3_moe", imatrix);
  const auto summary = nlohmann::json::parse(Out());
  auto m = ReadImatrixFile(imatrix);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(summary["imatrix"]["entries"], m->entries.size());
  EXPECT_EQ(summary["imatrix"]["path"], imatrix);
  EXPECT_TRUE(m->entries.count("blk.0.ffn_down_exps.weight"));
  EXPECT_EQ(m->chunk_count, 2u);  // the reference input's two sequences

  ASSERT_EQ(Run("plan " + profile + " --groups 2 --force -o " + P("plan.json")), 0) << Err();
  const std::string recipe =
      std::string(moedist::test_dirs::SourceDir()) + "/examples/recipes/q4k.json";
  const std::string pack = "pack " + kFixtures + "qwen3_moe " + P("plan.json") + " --recipe " +
                           recipe + " --created 2026-01-01T00:00:00Z --json -o ";
  ASSERT_EQ(Run(pack + P("with") + " --imatrix " + imatrix), 0) << Err();
  const auto report = nlohmann::json::parse(Out());
  ASSERT_TRUE(report.contains("imatrix")) << Out();
  EXPECT_GT(report["imatrix"]["tensors_weighted"].get<int>(), 0);
  const auto dist = nlohmann::json::parse(ReadText(P("with") + "/distribution.json"));
  EXPECT_EQ(dist["recipe"]["imatrix"]["sha256"], report["imatrix"]["sha256"]);
  ASSERT_EQ(Run(pack + P("without")), 0) << Err();
  EXPECT_FALSE(nlohmann::json::parse(Out()).contains("imatrix"));
  EXPECT_NE(Concat(P("with") + "/group-0"), Concat(P("without") + "/group-0"));

  // An importance matrix of another model (OLMoE's) is refused before anything is written.
  const std::string other = P("olmoe.imatrix.gguf");
  Profile("olmoe", other);
  EXPECT_EQ(Run(pack + P("bad") + " --imatrix " + other), 2);
  EXPECT_NE(Err().find(other), std::string::npos) << Err();
  EXPECT_FALSE(fs::exists(P("bad") + "/distribution.json"));
}

}  // namespace
}  // namespace moedist
