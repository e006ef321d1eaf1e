// `moedist inspect` run as a process: on every malformed checkpoint of the corpus
// (tests/formats/malformed_checkpoint_testutil.h) it exits 3 (bad input) or 4 (missing file)
// and its stderr names the file, tensor or field and the defect; on every good hf-tiny fixture
// `--json` reports what config.json and the index say, with every tensor classified.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/apps/cli_testutil.h"
#include "tests/formats/malformed_checkpoint_testutil.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
using corpus::DefectCase;
using corpus::DefectStage;
using corpus::ScopedTempDir;

using cli_testing::CliResult;
using cli_testing::RunMoedist;
using cli_testing::Slurp;

class InspectMalformed : public ::testing::TestWithParam<DefectCase> {};

INSTANTIATE_TEST_SUITE_P(Corpus, InspectMalformed, ::testing::ValuesIn(corpus::AllDefectCases()),
                         [](const auto& info) { return info.param.name; });

TEST_P(InspectMalformed, ExitCodeAndStderrNameTheDefect) {
  const DefectCase& dc = GetParam();
  ScopedTempDir tmp(dc.name);
  ScopedTempDir scratch("cli-" + dc.name);
  const std::string ckpt = tmp.path() + "/ckpt";
  Status written = corpus::WriteMalformedCheckpoint(dc.defect, ckpt);
  ASSERT_TRUE(written.ok()) << written.ToString();

  CliResult r = RunMoedist("inspect '" + ckpt + "'", scratch.path());
  EXPECT_EQ(r.code, dc.exit_code) << r.err;
  if (dc.stage == DefectStage::kAccepted) {
    EXPECT_EQ(r.err, "");
    EXPECT_NE(r.out.find("family        qwen3_moe"), std::string::npos) << r.out;
    return;
  }
  EXPECT_NE(r.err.find("moedist inspect: error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(dc.reason), std::string::npos) << "stderr lacks \"" << dc.reason << "\":\n"
                                                      << r.err;
  for (const std::string& name : corpus::ExpectedNames(dc, ckpt)) {
    EXPECT_NE(r.err.find(name), std::string::npos) << "stderr lacks \"" << name << "\":\n" << r.err;
  }
  if (dc.stage == DefectStage::kUnclassified) {
    // The report is printed, and the unknown tensor is listed as an error before the refusal.
    EXPECT_NE(r.err.find("error: unclassified tensor \"" + dc.names.at(0) + "\""),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(ckpt), std::string::npos) << r.err;
  } else {
    EXPECT_EQ(r.out, "") << "nothing is reported for a refused checkpoint";
  }
}

// The same defect gets the same exit code from every command that reads the checkpoint:
// profile and eval open it through runtime-min, and a tensor the config requires but the
// checkpoint lacks is bad input (3) there too, not a missing file (4); the path is named once.
TEST(InspectCli, MissingExpertTensorExitsThreeInProfileAndEvalToo) {
  ScopedTempDir tmp("missing-expert");
  ScopedTempDir scratch("cli-missing-expert");
  const std::string ckpt = tmp.path() + "/ckpt";
  ASSERT_TRUE(
      corpus::WriteMalformedCheckpoint(corpus::CheckpointDefect::kExpertProjectionMissing, ckpt)
          .ok());
  std::ofstream(scratch.path() + "/ids.json") << "[[1, 2, 3, 4]]";
  std::ofstream(scratch.path() + "/suite.jsonl")
      << R"({"id": "a", "domain": "d", "ids": [1, 2, 3]})"
      << "\n";
  EXPECT_EQ(RunMoedist("inspect '" + ckpt + "'", scratch.path()).code, 3);
  for (const std::string& args : {"eval '" + ckpt + "' --ids '" + scratch.path() + "/ids.json'",
                                  "profile '" + ckpt + "' --suite '" + scratch.path() +
                                      "/suite.jsonl' -o '" + scratch.path() + "/profile.json'"}) {
    CliResult r = RunMoedist(args, scratch.path());
    EXPECT_EQ(r.code, 3) << args << "\n" << r.err;
    EXPECT_NE(r.err.find("model.layers.1.mlp.experts.3.up_proj.weight"), std::string::npos)
        << r.err;
    const size_t first = r.err.find(ckpt);
    ASSERT_NE(first, std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(ckpt + ": " + ckpt), std::string::npos) << "path named twice: " << r.err;
  }
}

// Good fixtures: `inspect --json` counts equal config.json's and the index's, every tensor is
// classified, and trunk + routed experts == total.
class InspectFixture : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(HfTiny, InspectFixture,
                         ::testing::Values("qwen3_moe", "qwen2_moe", "mixtral", "olmoe",
                                           "deepseek_v3", "llama4"),
                         [](const auto& info) { return info.param; });

// The first of `keys` present in `config`.
int FirstInt(const nlohmann::json& config, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (config.contains(k)) return config[k].get<int>();
  }
  ADD_FAILURE() << "config.json has none of the expected keys";
  return -1;
}

TEST_P(InspectFixture, JsonCountsMatchConfigAndEveryTensorIsClassified) {
  const std::string dir = corpus::FixtureDir(GetParam());
  ScopedTempDir scratch("cli-" + GetParam());
  CliResult r = RunMoedist("inspect --json '" + dir + "'", scratch.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  nlohmann::json report = nlohmann::json::parse(r.out);
  nlohmann::json config = nlohmann::json::parse(Slurp(dir + "/config.json"));
  nlohmann::json index = nlohmann::json::parse(Slurp(dir + "/model.safetensors.index.json"));

  EXPECT_EQ(report["model_type"], config["model_type"]);
  EXPECT_EQ(report["architecture"], config["architectures"][0]);
  EXPECT_EQ(report["num_layers"], config["num_hidden_layers"]);
  EXPECT_EQ(report["num_experts"],
            FirstInt(config, {"num_experts", "num_local_experts", "n_routed_experts"}));
  EXPECT_EQ(report["top_k"], config["num_experts_per_tok"]);
  EXPECT_EQ(report["hidden_size"], config["hidden_size"]);
  EXPECT_EQ(report["vocab_size"], config["vocab_size"]);
  EXPECT_EQ(report["moe_intermediate_size"],
            FirstInt(config, {"moe_intermediate_size", "intermediate_size"}));
  EXPECT_EQ(report["attention"]["num_heads"], config["num_attention_heads"]);
  EXPECT_EQ(report["attention"]["num_kv_heads"], config["num_key_value_heads"]);
  EXPECT_EQ(report["layers"].size(), config["num_hidden_layers"].get<size_t>());
  EXPECT_EQ(report["tensor_count"], index["weight_map"].size());
  EXPECT_TRUE(report["unclassified"].empty()) << report["unclassified"].dump();

  const uint64_t total = report["bytes"]["total"], trunk = report["bytes"]["trunk"],
                 routed = report["bytes"]["routed_experts"];
  EXPECT_GT(trunk, 0u);
  EXPECT_GT(routed, 0u);
  EXPECT_EQ(trunk + routed, total);
  EXPECT_EQ(total, index["metadata"]["total_size"].get<uint64_t>());
  uint64_t by_class = 0, layer_sum = 0, tensors = 0;
  for (const auto& [cls, bytes] : report["bytes_by_class"].items())
    by_class += bytes.get<uint64_t>();
  for (const auto& [cls, n] : report["tensors_by_class"].items()) tensors += n.get<uint64_t>();
  EXPECT_EQ(by_class, total);
  EXPECT_EQ(tensors, index["weight_map"].size());
  for (const auto& layer : report["layers"]) {
    layer_sum += layer["routed_bytes"].get<uint64_t>();
    if (!layer["moe"].get<bool>()) continue;
    EXPECT_EQ(layer["expert_bytes"].size(), report["num_experts"].get<size_t>());
  }
  EXPECT_EQ(layer_sum, routed);
}

// Bytes from the input never reach the terminal raw: an ill-formed UTF-8 byte and a terminal
// escape (decoded from a JSON \u001b) are printed as \xNN.
TEST(InspectCli, InvalidBytesAndTerminalEscapesAreEscapedInErrors) {
  ScopedTempDir tmp("cli-bad-bytes");
  const std::string fixture = test_dirs::FixtureRoot() + "/fixtures/hf-tiny/qwen3_moe";
  for (const auto& [spelling, shown] : std::vector<std::pair<std::string, std::string>>{
           {"\"qwen3\xff_moe\"", "\\xff"}, {"\"qwen3\\u001b[31m\"", "\\x1b[31m"}}) {
    const std::string ckpt = tmp.path() + "/ckpt";
    std::filesystem::remove_all(ckpt);
    std::filesystem::copy(fixture, ckpt);
    std::string config = Slurp(ckpt + "/config.json");
    const size_t at = config.find("\"qwen3_moe\"");
    ASSERT_NE(at, std::string::npos);
    config.replace(at, 11, spelling);
    std::ofstream(ckpt + "/config.json", std::ios::trunc) << config;
    CliResult r = RunMoedist("inspect '" + ckpt + "'", tmp.path());
    EXPECT_EQ(r.code, 3) << r.err;
    EXPECT_NE(r.err.find(shown), std::string::npos) << r.err;
    for (unsigned char c : r.err) {
      EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7F)) << "raw byte " << int(c) << " in " << r.err;
    }
  }
}

TEST(InspectCli, MissingDirectoryExitsFour) {
  ScopedTempDir scratch("cli-missing");
  CliResult r = RunMoedist("inspect '" + scratch.path() + "/nope'", scratch.path());
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find(scratch.path() + "/nope"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace moedist
