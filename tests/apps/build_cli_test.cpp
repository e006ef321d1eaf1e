// moedist build, run as a user would, on the example Qwen3-MoE checkpoint with small suites:
// SIGKILL at 10 points then resume ends byte-identical to an uninterrupted build; a second build
// on a locked output fails fast; --dry-run writes nothing; the --emit-makefile Makefile, run by
// make, writes the same files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/apps/cli_testutil.h"
#include "tests/test_dirs.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using moedist::cli_testing::CliResult;
using moedist::cli_testing::Slurp;

// Published files (not the cache, not the locks) and their bytes.
std::map<std::string, std::string> Published(const fs::path& out) {
  std::map<std::string, std::string> m;
  for (auto it = fs::recursive_directory_iterator(out); it != fs::end(it); ++it) {
    const std::string rel = fs::relative(it->path(), out).string();
    if (rel == ".moedist-cache") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && !rel.ends_with(".moedist-build.lock") &&
        !rel.ends_with(".moedist-lock")) {
      m[rel] = Slurp(it->path());
    }
  }
  return m;
}

class BuildCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("moedist-build-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::string ex = std::string(moedist::test_dirs::SourceDir()) + "/examples";
    Head(ex + "/calibration/calibration.jsonl", dir_ / "cal.jsonl", 6);
    ASSERT_EQ(Moedist("keygen --out " + (dir_ / "key.pem").string()).code, 0);
    const json spec = {
        {"schema_version", 1},
        {"checkpoint", ex + "/model/checkpoint"},
        {"calibration", "cal.jsonl"},
        {"profile", {{"layers", "all"}, {"max_tokens_per_prompt", 16}}},
        {"plan", {{"groups", 2}, {"overlay", 2}, {"strategy", "placement"}}},
        {"pack", {{"recipe", ex + "/recipes/q8.json"}}},
        {"release", {{"name", "cli"}, {"created", "2026-01-01T00:00:00Z"}, {"valid_days", 3650}}},
        {"signing_key", "key.pem"},
        {"output", "out"}};
    std::ofstream(dir_ / "release.json") << spec.dump(2);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void Head(const std::string& from, const fs::path& to, int n) {
    std::ifstream in(from);
    std::ofstream out(to);
    std::string line;
    for (int i = 0; i < n && std::getline(in, line); ++i) out << line << "\n";
  }

  CliResult Run(const std::string& cmd_line) {
    return moedist::cli_testing::RunCommand(cmd_line, dir_);
  }
  CliResult Moedist(const std::string& args, const std::string& env = "") {
    return Run(env + " " + std::string(MOEDIST_EXE) + " " + args);
  }
  std::string Release() const { return (dir_ / "release.json").string(); }

  fs::path dir_;
};

TEST_F(BuildCli, SigkillAtTenPointsThenResumeIsByteIdenticalToAnUninterruptedBuild) {
  // Without the quantizing recipe: 21 builds run here, and pack's conversions are not what is
  // under test (the Makefile test below packs with it).
  json spec = json::parse(Slurp(Release()));
  spec.erase("pack");
  std::ofstream(Release(), std::ios::trunc) << spec.dump(2);
  const fs::path clean = dir_ / "clean";
  const CliResult full = Moedist("build " + Release() + " -o " + clean.string() + " --json");
  ASSERT_EQ(full.code, 0) << full.err;
  const json report = json::parse(full.out);
  const auto want = Published(clean);
  ASSERT_TRUE(want.count("dist/distribution.json.sig"));
  // Checkpoints of a fresh build, in order: inspect, profile and plan commit (1-3), pack's
  // tensors (T), pack and sign commit, then one per published file (P).
  const int64_t n = report["checkpoints"];
  const int64_t p = report["published"].size();
  const int64_t t = n - 5 - p;
  ASSERT_GT(t, 2);
  ASSERT_GT(p, 4);
  const std::vector<int64_t> points = {1,     2,     3,     4 + t / 2,     3 + t,
                                       4 + t, 5 + t, 6 + t, 6 + t + p / 2, n};
  for (int64_t k : points) {
    SCOPED_TRACE("killed at checkpoint " + std::to_string(k) + " of " + std::to_string(n));
    const fs::path out = dir_ / ("killed-" + std::to_string(k));
    const std::string args = "build " + Release() + " -o " + out.string();
    const CliResult killed = Moedist(args, "MOEDIST_BUILD_KILL_AT=" + std::to_string(k));
    EXPECT_EQ(killed.code, 128 + SIGKILL) << killed.err;
    const CliResult resumed = Moedist(args);
    ASSERT_EQ(resumed.code, 0) << resumed.err;
    const auto got = Published(out);
    EXPECT_EQ(got.size(), want.size());
    for (const auto& [path, bytes] : want) {
      auto it = got.find(path);
      ASSERT_NE(it, got.end()) << path;
      EXPECT_TRUE(it->second == bytes) << path << " differs";
    }
    for (const auto& [path, bytes] : got) EXPECT_TRUE(want.count(path)) << "extra " << path;
    fs::remove_all(out);
  }
}

// A rebuild over a signed release (overlay 2 → 1: plan, pack and sign run again), killed at 20
// points spread over its checkpoints: OUT/dist verifies with the key as the old release or the
// new one every time, and the resumed build publishes what an uninterrupted one does.
TEST_F(BuildCli, SigkillAtTwentyPointsOfARebuildLeavesTheOldOrTheNewSignedRelease) {
  json spec = json::parse(Slurp(Release()));
  spec.erase("pack");
  std::ofstream(Release(), std::ios::trunc) << spec.dump(2);
  spec["plan"]["overlay"] = 1;
  const fs::path changed = dir_ / "release-b.json";
  std::ofstream(changed) << spec.dump(2);
  const fs::path base = dir_ / "base";
  ASSERT_EQ(Moedist("build " + Release() + " -o " + base.string()).code, 0);
  const std::string old_manifest = Slurp(base / "dist" / "distribution.json");
  const fs::path probe = dir_ / "probe";
  ASSERT_EQ(std::system(("cp -a " + base.string() + " " + probe.string()).c_str()), 0);
  const CliResult full = Moedist("build " + changed.string() + " -o " + probe.string() + " --json");
  ASSERT_EQ(full.code, 0) << full.err;
  const int64_t n = json::parse(full.out)["checkpoints"];
  const std::string new_manifest = Slurp(probe / "dist" / "distribution.json");
  ASSERT_NE(old_manifest, new_manifest);
  const auto want = Published(probe);
  ASSERT_GE(n, 20);
  for (int64_t i = 0; i < 20; ++i) {
    const int64_t k = 1 + i * (n - 1) / 19;
    SCOPED_TRACE("killed at checkpoint " + std::to_string(k) + " of " + std::to_string(n));
    const fs::path out = dir_ / ("killed-" + std::to_string(k));
    ASSERT_EQ(std::system(("cp -a " + base.string() + " " + out.string()).c_str()), 0);
    const std::string args = "build " + changed.string() + " -o " + out.string();
    EXPECT_EQ(Moedist(args, "MOEDIST_BUILD_KILL_AT=" + std::to_string(k)).code, 128 + SIGKILL);
    const CliResult verified = Moedist("verify " + (out / "dist").string() + " --pubkey " +
                                       (dir_ / "key.pem.pub").string());
    EXPECT_EQ(verified.code, 0) << verified.out << verified.err;
    const std::string manifest = Slurp(out / "dist" / "distribution.json");
    EXPECT_TRUE(manifest == old_manifest || manifest == new_manifest);
    ASSERT_EQ(Moedist(args).code, 0);
    EXPECT_TRUE(Published(out) == want) << "the resumed build differs";
    fs::remove_all(out);
  }
}

TEST_F(BuildCli, SecondBuildOnALockedOutputFailsFastWithAClearMessage) {
  const fs::path out = dir_ / "out";
  fs::create_directories(out);
  const int fd = ::open((out / ".moedist-build.lock").c_str(), O_RDONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  const auto start = std::chrono::steady_clock::now();
  const CliResult r = Moedist("build " + Release());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("another moedist build is writing this output directory"), std::string::npos)
      << r.err;
  EXPECT_LT(seconds, 2.0);
  EXPECT_FALSE(fs::exists(out / ".moedist-cache"));
}

// pack's source re-check modes: hashing the checkpoint twice (digest) or comparing stat stamps
// (stamp, the default) publish the same manifest; the digests pack reuses from writing equal a
// fresh hash of every file; an unknown mode is a usage error.
TEST_F(BuildCli, PackRecheckSourceModesPublishTheSameManifest) {
  const std::string ckpt =
      std::string(moedist::test_dirs::SourceDir()) + "/examples/model/checkpoint";
  json layers = json::object();
  for (int l = 0; l < 4; ++l) {
    layers[std::to_string(l)] = {{"groups", {{0, 1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12, 13}}},
                                 {"overlay", {14, 15}}};
  }
  const json plan = {{"schema_version", 1},
                     {"num_experts", 16},
                     {"top_k", 2},
                     {"strategy", "custom"},
                     {"layers", layers}};
  std::ofstream(dir_ / "plan.json") << plan.dump();
  std::map<std::string, std::string> manifests;
  for (const char* mode : {"stamp", "digest", "none"}) {
    const fs::path out = dir_ / mode;
    const CliResult r =
        Moedist("pack " + ckpt + " " + (dir_ / "plan.json").string() + " --out " + out.string() +
                " --created 2026-01-01T00:00:00Z " + "--recheck-source " + mode + " --json");
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    manifests[mode] = Slurp(out / "distribution.json");
    EXPECT_EQ(Moedist("verify " + out.string() + " --unsigned").code, 0) << mode;
  }
  EXPECT_EQ(manifests["stamp"], manifests["digest"]);
  EXPECT_EQ(manifests["stamp"], manifests["none"]);
  const CliResult bad = Moedist("pack " + ckpt + " " + (dir_ / "plan.json").string() + " --out " +
                                (dir_ / "bad").string() + " --recheck-source mtime");
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_NE(bad.err.find("recheck-source"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir_ / "bad" / "distribution.json"));
}

TEST_F(BuildCli, DryRunPrintsThePlanAndWritesNothing) {
  const CliResult r = Moedist("build " + Release() + " --dry-run");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* step : {"inspect", "profile", "plan", "pack", "sign", "validate"}) {
    EXPECT_NE(r.out.find(step), std::string::npos) << step << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("would run"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  EXPECT_EQ(Moedist("build " + Release() + " --only node-7").code, 2);
}

TEST_F(BuildCli, EmittedMakefileRunByMakeWritesTheSameFiles) {
  if (std::system("command -v make >/dev/null 2>&1") != 0) GTEST_SKIP() << "make not installed";
  const CliResult built = Moedist("build " + Release());
  ASSERT_EQ(built.code, 0) << built.err;
  const fs::path mk = dir_ / "release.mk", by_make = dir_ / "by-make";
  const CliResult emitted =
      Moedist("build " + Release() + " -o " + by_make.string() + " --emit-makefile " + mk.string());
  ASSERT_EQ(emitted.code, 0) << emitted.err;
  EXPECT_FALSE(fs::exists(by_make));  // emitting builds nothing
  const CliResult made = Run("make -s -f " + mk.string());
  ASSERT_EQ(made.code, 0) << made.out << made.err;
  const auto want = Published(dir_ / "out");
  const auto got = Published(by_make);
  for (const auto& [path, bytes] : want) {
    auto it = got.find(path);
    ASSERT_NE(it, got.end()) << path;
    if (path == "profile/profile.json") {
      // `moedist profile` records how it ran (its peak RSS differs from run to run); the build
      // does not. Everything else must match.
      json a = json::parse(bytes), b = json::parse(it->second);
      a.erase("execution");
      b.erase("execution");
      EXPECT_EQ(a, b);
      continue;
    }
    EXPECT_TRUE(it->second == bytes) << path << " differs";
  }
  EXPECT_EQ(got.size(), want.size());
  // A second make has nothing to do.
  const CliResult again = Run("make -f " + mk.string());
  EXPECT_EQ(again.code, 0);
  EXPECT_NE(again.out.find("Nothing to be done"), std::string::npos) << again.out;
}

}  // namespace
