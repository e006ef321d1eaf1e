// The release-only workflow as a user runs it, on a release `moedist pack` made from the hf-tiny
// Qwen3-MoE fixture and signed: `place DIST` (one prompt, and --stdin serving JSON lines),
// `eval DIST --node` and `run DIST --node` (also given the node directory itself), the old
// `place CKPT --plan` form, and the refusals: no --pubkey/--unsigned, a tampered trunk, a node
// index whose shard path would leave the release.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/apps/cli_testutil.h"
#include "tests/test_dirs.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using moedist::cli_testing::CliResult;
using moedist::cli_testing::Slurp;

const std::string kFixture = moedist::test_dirs::FixtureRoot() + "/fixtures/hf-tiny/qwen3_moe";

class ReleaseNodeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("moedist-release-node-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Two groups of 3 plus a two-expert overlay in both layers; packed, then signed.
    const json layer = {{"groups", {{0, 2, 4}, {1, 3, 5}}}, {"overlay", {6, 7}}};
    std::ofstream(plan()) << json{{"schema_version", 1},
                                  {"num_experts", 8},
                                  {"top_k", 2},
                                  {"strategy", "custom"},
                                  {"layers", {{"0", layer}, {"1", layer}}}}
                                 .dump();
    CliResult r = Moedist("pack " + kFixture + " " + plan() + " --out " + dist() +
                          " --created 2025-01-01T00:00:00Z --expires 2035-01-01T00:00:00Z");
    ASSERT_EQ(r.code, 0) << r.err;
    r = Moedist("keygen --out " + (dir_ / "release.key").string() + " --pub " + pub());
    ASSERT_EQ(r.code, 0) << r.err;
    r = Moedist("sign " + dist() + " --key " + (dir_ / "release.key").string());
    ASSERT_EQ(r.code, 0) << r.err;
    const json ref = json::parse(Slurp(kFixture + "/reference.json"));
    ids_ = ref["input_ids"];
    std::ofstream(ids_file()) << ids_.dump();
  }
  void TearDown() override { fs::remove_all(dir_); }

  CliResult Moedist(const std::string& args, const std::string& stdin_file = "") {
    return moedist::cli_testing::RunMoedist(args, dir_, stdin_file);
  }
  std::string dist() const { return (dir_ / "dist").string(); }
  std::string plan() const { return (dir_ / "plan.json").string(); }
  std::string pub() const { return (dir_ / "release.pub").string(); }
  std::string ids_file() const { return (dir_ / "ids.json").string(); }

  fs::path dir_;
  json ids_;
};

TEST_F(ReleaseNodeCli, PlaceFromTheReleaseAloneAgreesWithItsOwnScores) {
  CliResult r =
      Moedist("place " + dist() + " --ids '" + ids_[0].dump() + "' --pubkey " + pub() + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["verified"], "signature");
  EXPECT_EQ(j["nodes"], (json{"node-0", "node-1"}));
  EXPECT_EQ(j["layers"], (json{0}));  // the first MoE layer: all the trunk can route
  EXPECT_EQ(j["tokens"], ids_[0].size());
  ASSERT_EQ(j["scores"].size(), 2u);
  const int chosen = j["node"];
  EXPECT_EQ(j["node_id"], "node-" + std::to_string(chosen));
  EXPECT_GE(j["scores"][chosen].get<double>(), j["scores"][1 - chosen].get<double>());
  for (const json& s : j["scores"]) {
    EXPECT_GT(s.get<double>(), 0.0);
    EXPECT_LE(s.get<double>(), 1.0 + 1e-9);
  }
  // Unsigned: digests only, and it says so.
  r = Moedist("place " + dist() + " --ids '" + ids_[0].dump() + "' --unsigned --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["verified"], "digests");
  EXPECT_NE(r.err.find("signature NOT CHECKED"), std::string::npos) << r.err;
  EXPECT_EQ(json::parse(r.out)["scores"], j["scores"]);
  // Neither --pubkey nor --unsigned: refused as verify refuses it.
  r = Moedist("place " + dist() + " --ids '" + ids_[0].dump() + "'");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--unsigned"), std::string::npos) << r.err;
  // The old form, from the checkpoint and plan.json, still answers.
  r = Moedist("place " + kFixture + " --plan " + plan() + " --ids '" + ids_[0].dump() + "' --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["layers"], (json{0, 1}));
}

TEST_F(ReleaseNodeCli, PlaceStdinAnswersEveryLineAndSurvivesBadOnes) {
  const fs::path requests = dir_ / "requests.jsonl";
  {
    std::ofstream f(requests);
    f << json{{"id", 1}, {"ids", ids_[0]}}.dump() << "\n";
    f << "this is not json\n";
    f << "\n";  // blank: skipped, no answer
    f << json{{"id", "b"}, {"ids", ids_[1]}, {"tokens", 4}}.dump() << "\n";
    f << "[1, 2]\n";
    f << json{{"id", 3}, {"ids", ids_[0]}, {"prompt", "x"}}.dump() << "\n";
    f << json{{"id", 4}, {"ids", {1, -5}}}.dump() << "\n";
    f << json{{"id", 5}, {"ids", {1, 2}}, {"colour", "red"}}.dump() << "\n";
    f << json{{"id", 6}, {"ids", {1, 2}}, {"tokens", 0}}.dump() << "\n";
    f << json{{"id", 7}, {"prompt", "no tokenizer here"}}.dump() << "\n";
    f << json{{"id", 8}, {"ids", {100000}}}.dump() << "\n";  // outside the vocabulary
    f << json{{"id", 9}, {"ids", ids_[0]}}.dump() << "\n";
  }
  CliResult r = Moedist("place " + dist() + " --stdin --pubkey " + pub(), requests.string());
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<json> answers;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) answers.push_back(json::parse(line));
  ASSERT_EQ(answers.size(), 11u) << r.out;
  const std::vector<json> ids = {1, nullptr, "b", nullptr, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<bool> ok = {true,  false, true,  false, false, false,
                                false, false, false, false, true};
  for (size_t i = 0; i < answers.size(); ++i) {
    SCOPED_TRACE(answers[i].dump());
    EXPECT_EQ(answers[i]["id"], ids[i]);
    EXPECT_EQ(answers[i]["ok"], ok[i]);
    if (!ok[i]) {
      EXPECT_FALSE(answers[i]["error"].get<std::string>().empty());
      EXPECT_TRUE(answers[i]["code"].is_string());
    }
  }
  EXPECT_EQ(answers[2]["tokens"], 4);
  EXPECT_EQ(answers[6]["code"], "invalid_argument");  // an unknown field
  EXPECT_EQ(answers[8]["code"], "not_found");         // text without a tokenizer
  // The same prompt gets the same answer, and the one-shot command agrees with the server.
  EXPECT_EQ(answers[0]["scores"], answers[10]["scores"]);
  r = Moedist("place " + dist() + " --ids '" + ids_[0].dump() + "' --pubkey " + pub() + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["scores"], answers[0]["scores"]);
}

TEST_F(ReleaseNodeCli, EvalAndRunLoadOneVerifiedNode) {
  CliResult r = Moedist("eval " + dist() + " --node node-1 --ids " + ids_file() + " --pubkey " +
                        pub() + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json on_node = json::parse(r.out);
  EXPECT_EQ(on_node["verified"], "signature");
  EXPECT_EQ(on_node["node"], "node-1");
  EXPECT_EQ(on_node["format"], "safetensors");
  EXPECT_EQ(on_node["sequences"], 2);
  EXPECT_TRUE(on_node["mean_logprob"].is_number());
  // The node directory itself is accepted too, and gives the same figure.
  r = Moedist("eval " + dist() + "/node-1 --ids " + ids_file() + " --unsigned --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["mean_logprob"], on_node["mean_logprob"]);
  EXPECT_EQ(json::parse(r.out)["verified"], "digests");
  // The full checkpoint scores differently: the node lacks experts.
  r = Moedist("eval " + kFixture + " --ids " + ids_file() + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(json::parse(r.out)["mean_logprob"], on_node["mean_logprob"]);
  // A release without --node is refused, saying what to add.
  r = Moedist("eval " + dist() + " --ids " + ids_file() + " --pubkey " + pub());
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--node"), std::string::npos) << r.err;
  // run: greedy tokens from the node.
  r = Moedist("run " + dist() + " --node node-0 --prompt-ids '" + ids_[0].dump() +
              "' --max-tokens 5 --ignore-eos --pubkey " + pub() + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json run = json::parse(r.out);
  EXPECT_EQ(run["ids"].size(), 5u);
  EXPECT_EQ(run["node"], "node-0");
  EXPECT_EQ(run["verified"], "signature");
}

TEST_F(ReleaseNodeCli, TamperedTrunkIsRefusedUnlessVerificationIsSkipped) {
  fs::path victim;
  for (const auto& e : fs::directory_iterator(fs::path(dist()) / "trunk")) {
    if (e.path().extension() == ".safetensors") victim = e.path();
  }
  ASSERT_FALSE(victim.empty());
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x11');
  }
  const std::string name = "trunk/" + victim.filename().string();
  CliResult r = Moedist("place " + dist() + " --ids '" + ids_[0].dump() + "' --pubkey " + pub());
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
  r = Moedist("eval " + dist() + " --node node-0 --ids " + ids_file() + " --pubkey " + pub());
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
  r = Moedist("eval " + dist() + " --node node-0 --ids " + ids_file() + " --no-verify --json");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["verified"], "none");
  EXPECT_NE(r.err.find("NOT CHECKED"), std::string::npos) << r.err;
}

TEST_F(ReleaseNodeCli, NodeIndexLeavingTheReleaseIsRefusedNamingFileAndField) {
  const fs::path index = fs::path(dist()) / "node-1" / "model.safetensors.index.json";
  json j = json::parse(Slurp(index));
  std::string tensor;
  for (auto& [name, shard] : j["weight_map"].items()) {
    if (shard.get<std::string>().starts_with("../trunk/")) {
      tensor = name;
      shard = "../../outside/model.safetensors";
      break;
    }
  }
  ASSERT_FALSE(tensor.empty());
  std::ofstream(index) << j.dump(2);
  CliResult r = Moedist("eval " + dist() + " --node node-1 --ids " + ids_file() + " --no-verify");
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("node-1/model.safetensors.index.json: weight_map[\"" + tensor + "\"]"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("../../outside/model.safetensors"), std::string::npos) << r.err;
  // Verified, the edit is caught before the index is even read.
  r = Moedist("eval " + dist() + " --node node-1 --ids " + ids_file() + " --pubkey " + pub());
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("verification failed"), std::string::npos) << r.err;
}

TEST_F(ReleaseNodeCli, HelpNamesTheReleaseForms) {
  for (const std::string cmd : {"place", "run", "eval"}) {
    CliResult r = Moedist(cmd + " --help");
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("--pubkey"), std::string::npos) << cmd;
    EXPECT_NE(r.out.find("--json"), std::string::npos) << cmd;
  }
  EXPECT_NE(Moedist("place --help").out.find("--stdin"), std::string::npos);
  EXPECT_NE(Moedist("eval --help").out.find("--no-verify"), std::string::npos);
}

}  // namespace
