// moedist package / unpack as a user runs them, on releases that `moedist pack` made from the
// hf-tiny fixtures: the round trip gives back every byte of the node's bundles, verify accepts
// the unpacked directory, and refusals exit with the documented codes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/apps/cli_testutil.h"
#include "tests/test_dirs.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using moedist::cli_testing::CliResult;
using moedist::cli_testing::Slurp;

class PackageCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("moedist-package-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  CliResult Moedist(const std::string& args) {
    return moedist::cli_testing::RunMoedist(args, dir_);
  }

  // pack (two groups of 3 plus a two-expert overlay in both layers) + keygen + sign.
  fs::path PackAndSign(const std::string& family) {
    const fs::path plan = dir_ / (family + "-plan.json");
    const json layer = {{"groups", {{0, 2, 4}, {1, 3, 5}}}, {"overlay", {6, 7}}};
    std::ofstream(plan) << json{{"schema_version", 1},
                                {"num_experts", 8},
                                {"top_k", 2},
                                {"strategy", "custom"},
                                {"layers", {{"0", layer}, {"1", layer}}}}
                               .dump();
    const fs::path dist = dir_ / (family + "-dist");
    const std::string fixture =
        std::string(moedist::test_dirs::FixtureRoot()) + "/fixtures/hf-tiny/" + family;
    CliResult r = Moedist("pack " + fixture + " " + plan.string() + " --out " + dist.string() +
                          " --created 2025-01-01T00:00:00Z --expires 2035-01-01T00:00:00Z");
    EXPECT_EQ(r.code, 0) << r.err;
    if (!fs::exists(dir_ / "release.key")) {
      r = Moedist("keygen --out " + (dir_ / "release.key").string() + " --pub " + pub());
      EXPECT_EQ(r.code, 0) << r.err;
    }
    r = Moedist("sign " + dist.string() + " --key " + (dir_ / "release.key").string());
    EXPECT_EQ(r.code, 0) << r.err;
    return dist;
  }
  std::string pub() const { return (dir_ / "release.pub").string(); }

  fs::path dir_;
};

TEST_F(PackageCli, HfTinyRoundTripIsBytesIdenticalAndVerifies) {
  for (const std::string family : {"qwen3_moe", "mixtral"}) {
    SCOPED_TRACE(family);
    const fs::path dist = PackAndSign(family);
    const json manifest = json::parse(Slurp(dist / "distribution.json"));
    for (const std::string planes : {"auto", "always"}) {
      const fs::path archive = dir_ / (family + "-" + planes + ".tar.zst");
      CliResult r = Moedist("package " + dist.string() + " --node node-1 -o " + archive.string() +
                            " --pubkey " + pub() + " --planes " + planes + " --json");
      ASSERT_EQ(r.code, 0) << r.err;
      const json report = json::parse(r.out);
      EXPECT_EQ(report["archive_bytes"].get<uint64_t>(), fs::file_size(archive));
      EXPECT_TRUE(report["signature_checked"].get<bool>());
      // BF16 weights (qwen3_moe) are split with --planes always; F32 (mixtral) never are.
      if (planes == "always") {
        EXPECT_EQ(report["byte_planes"]["tensors"].get<int>() > 0, family == "qwen3_moe");
      }

      const fs::path out = dir_ / (family + "-" + planes + "-node-1");
      r = Moedist("unpack " + archive.string() + " --out " + out.string() + " --pubkey " + pub());
      ASSERT_EQ(r.code, 0) << r.err;
      EXPECT_NE(r.out.find("signature  ok"), std::string::npos) << r.out;

      // Exactly node-1's bundles, byte for byte.
      std::set<std::string> expected = {"distribution.json", "distribution.json.sig"};
      for (const json& node : manifest["nodes"]) {
        if (node["id"] != "node-1") continue;
        for (const json& bundle : node["bundles"]) {
          for (const json& f : manifest["bundles"][bundle.get<std::string>()]["files"]) {
            expected.insert(bundle.get<std::string>() + "/" + f["path"].get<std::string>());
          }
        }
      }
      ASSERT_GT(expected.size(), 4u);
      std::set<std::string> found;
      for (const auto& e : fs::recursive_directory_iterator(out)) {
        if (e.is_regular_file()) found.insert(e.path().lexically_relative(out).generic_string());
      }
      EXPECT_EQ(found, expected);
      for (const std::string& p : expected) {
        EXPECT_TRUE(Slurp(dist / p) == Slurp(out / p)) << p;
      }
      r = Moedist("verify " + out.string() + " --pubkey " + pub() + " --node node-1");
      EXPECT_EQ(r.code, 0) << r.out << r.err;
    }
  }
}

TEST_F(PackageCli, ArchiveIsAPlainTarZst) {
  const fs::path dist = PackAndSign("qwen3_moe");
  const fs::path archive = dir_ / "n.tar.zst";
  ASSERT_EQ(Moedist("package " + dist.string() + " --node node-0 -o " + archive.string()).code, 0);
  // GNU tar (with zstd) lists the members in order, the manifest and signature first.
  const std::string cmd = "tar --zstd -tf " + archive.string() + " > " + (dir_ / "list").string();
  if (std::system("command -v zstd >/dev/null") != 0) GTEST_SKIP() << "zstd CLI not installed";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string list = Slurp(dir_ / "list");
  EXPECT_EQ(list.rfind("distribution.json\ndistribution.json.sig\nmoedist-archive.json\n", 0), 0u)
      << list;
  EXPECT_NE(list.find("trunk/config.json"), std::string::npos);
}

TEST_F(PackageCli, RefusalsExitWithDocumentedCodes) {
  const fs::path dist = PackAndSign("qwen3_moe");
  const fs::path archive = dir_ / "n.tar.zst";
  ASSERT_EQ(Moedist("package " + dist.string() + " --node node-0 -o " + archive.string()).code, 0);

  CliResult r = Moedist("package " + dist.string() + " --node node-7");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("node-7"), std::string::npos);
  r = Moedist("package " + dist.string());
  EXPECT_EQ(r.code, 2);
  r = Moedist("unpack " + archive.string() + " --out " + (dir_ / "x").string());
  EXPECT_EQ(r.code, 2) << "neither --pubkey nor --unsigned";
  r = Moedist("unpack " + (dir_ / "absent.tar.zst").string() + " --out " + (dir_ / "x").string() +
              " --unsigned");
  EXPECT_EQ(r.code, 4);

  // Damaged archive: refused (3), the member named, nothing at --out.
  std::string bytes = Slurp(archive);
  bytes.resize(bytes.size() * 2 / 3);
  std::ofstream(dir_ / "cut.tar.zst", std::ios::binary) << bytes;
  r = Moedist("unpack " + (dir_ / "cut.tar.zst").string() + " --out " + (dir_ / "x").string() +
              " --pubkey " + pub());
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "x"));

  // A bundle file changed after signing: package refuses (3), naming it.
  const fs::path victim = dist / "trunk/config.json";
  std::string text = Slurp(victim);
  text[0] = text[0] == '{' ? ' ' : '{';
  std::ofstream(victim, std::ios::binary | std::ios::trunc) << text;
  r = Moedist("package " + dist.string() + " --node node-0 -o " + (dir_ / "y.tar.zst").string());
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("trunk/config.json"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "y.tar.zst"));
}

TEST_F(PackageCli, HelpDescribesTheFlags) {
  CliResult r = Moedist("package --help");
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--node", "--out", "--pubkey", "--level", "--planes", "--json"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
  r = Moedist("unpack --help");
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--out", "--pubkey", "--unsigned", "--json"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
