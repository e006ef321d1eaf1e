// Re-packing over a signed release (docs/reliability.md rows 30-31; manifest/release_stage.h):
// whatever kills or fails the pack, the release directory verifies as the old, signed release
// or as the new one, never as a mix, and a rerun completes with the bytes of a clean pack.
// Failures are simulated through PackRequest::after_tensor (an error returned, or a child
// process that _exits at once, like kill -9), PackRequest::after_switch, and a file-size limit
// that makes a write fail mid-shard as a full disk does.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <functional>

#include "manifest/build_distribution.h"
#include "manifest/release_signing.h"
#include "manifest/release_verify.h"
#include "pack_fixture_testutil.h"

namespace moedist::pack_testing {
namespace {

namespace fs = std::filesystem;

void ExpectSameFiles(const std::string& a, const std::string& b) {
  const auto files = ListFiles(a);
  ASSERT_EQ(files, ListFiles(b));
  for (const std::string& f : files) {
    EXPECT_TRUE(ReadAll(a + "/" + f) == ReadAll(b + "/" + f)) << f << " differs";
  }
}

// Three groups before, two after: every bundle but the trunk changes, and files disappear.
PackRequest OldRequest(const std::string& out) {
  auto config = LoadModelConfig(FixtureDir("olmoe"));
  EXPECT_TRUE(config.ok());
  ExpertPlan three = TwoGroupPlan(*config);
  three.num_groups = 3;
  for (auto& [layer, lp] : three.layers) {
    std::vector<std::vector<int>> groups(3);
    for (int e = 0; e < config->routing.num_experts; ++e) groups[e % 3].push_back(e);
    lp = LayerPlan{groups, {}};
  }
  PackRequest req = MakeRequest(FixtureDir("olmoe"), three, out);
  req.shard_bytes = 96 << 10;
  return req;
}

PackRequest NewRequest(const std::string& out) {
  auto config = LoadModelConfig(FixtureDir("olmoe"));
  EXPECT_TRUE(config.ok());
  PackRequest req = MakeRequest(FixtureDir("olmoe"), TwoGroupPlan(*config), out);
  req.shard_bytes = 96 << 10;
  req.threads = 2;
  return req;
}

class PackReplace : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = PrivateKey::Generate();
    ASSERT_TRUE(key.ok());
    key_.emplace(std::move(key).value());
    dist_ = tmp_.Sub("dist");
    ASSERT_TRUE(PackRelease(OldRequest(dist_)).ok());
    ASSERT_TRUE(SignRelease(dist_, *key_).ok());
    old_manifest_ = ReadAll(dist_ + "/distribution.json");
    auto clean = PackRelease(NewRequest(tmp_.Sub("clean")));
    ASSERT_TRUE(clean.ok()) << clean.status().ToString();
    new_manifest_ = ReadAll(tmp_.Sub("clean") + "/distribution.json");
    tensors_ = clean->tensors_written;
    ASSERT_NE(old_manifest_, new_manifest_);
  }

  // 1: the old release, signed, verifies; 2: the new one verifies (unsigned, as pack leaves it);
  // 0: neither.
  int Published() const {
    const std::string m = ReadAll(dist_ + "/distribution.json");
    VerifyOptions v;
    v.dist_dir = dist_;
    if (m == old_manifest_) {
      v.trusted_keys = {key_->public_key()};
    } else {
      v.allow_unsigned = true;
    }
    const VerifyReport r = VerifyRelease(v);
    for (const VerifyProblem& p : r.problems) ADD_FAILURE() << p.message;
    if (!r.ok()) return 0;
    return m == old_manifest_ ? 1 : m == new_manifest_ ? 2 : 0;
  }

  // Re-packs in a child process that dies (exit code 9, no unwinding) where `setup` says.
  int RepackInChild(const std::function<void(PackRequest&)>& setup) const {
    const pid_t child = ::fork();
    if (child == 0) {
      PackRequest req = NewRequest(dist_);
      setup(req);
      ::_exit(PackRelease(req).ok() ? 0 : 3);
    }
    int status = 0;
    EXPECT_EQ(::waitpid(child, &status, 0), child);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void ExpectRerunEqualsCleanPack() const {
    auto rerun = PackRelease(NewRequest(dist_));
    ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
    ExpectSameFiles(dist_, tmp_.Sub("clean"));
    EXPECT_FALSE(fs::exists(tmp_.Sub(".dist.moedist-staging")));
  }

  TempDir tmp_;
  std::optional<PrivateKey> key_;
  std::string dist_, old_manifest_, new_manifest_;
  uint64_t tensors_ = 0;
};

TEST_F(PackReplace, KilledAtTwentyPointsTheReleaseIsAlwaysTheOldOrTheNewWhole) {
  ASSERT_GT(tensors_, 30u);
  std::vector<uint64_t> points;
  for (int i = 0; i < 19; ++i) points.push_back(1 + i * (tensors_ - 1) / 18);  // 1 .. all
  for (uint64_t n : points) {
    SCOPED_TRACE("killed after tensor " + std::to_string(n) + " of " + std::to_string(tensors_));
    EXPECT_EQ(RepackInChild([n](PackRequest& r) {
                r.after_tensor = [n](uint64_t written) {
                  if (written == n) ::_exit(9);
                  return Status::Ok();
                };
              }),
              9);
    EXPECT_EQ(Published(), 1);
  }
  // The twentieth point: after the switch, before the old release is deleted.
  EXPECT_EQ(RepackInChild([](PackRequest& r) { r.after_switch = [] { ::_exit(9); }; }), 9);
  EXPECT_EQ(Published(), 2);
  ExpectRerunEqualsCleanPack();
}

TEST_F(PackReplace, AnErrorMidPackLeavesTheOldReleaseAndNoStaging) {
  for (uint64_t n : {1u, 40u, 110u}) {
    SCOPED_TRACE("fail after " + std::to_string(n));
    PackRequest req = NewRequest(dist_);
    req.after_tensor = [n](uint64_t written) {
      return written >= n ? Status::IoError("injected failure after {} tensors", written)
                          : Status::Ok();
    };
    auto r = PackRelease(req);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("injected failure"), std::string::npos)
        << r.status().ToString();
    EXPECT_EQ(Published(), 1);
    EXPECT_FALSE(fs::exists(tmp_.Sub(".dist.moedist-staging")));
  }
  ExpectRerunEqualsCleanPack();
}

TEST_F(PackReplace, AWriteFailureMidShardLikeAFullDiskLeavesTheOldRelease) {
  // RLIMIT_FSIZE makes write(2) fail with EFBIG past 64 KiB, as ENOSPC does on a full disk: the
  // first shard of 96 KiB cannot be completed.
  const int code = RepackInChild([](PackRequest&) {
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {64 << 10, 64 << 10};
    ::setrlimit(RLIMIT_FSIZE, &limit);
  });
  EXPECT_EQ(code, 3) << "the pack should have failed";
  EXPECT_EQ(Published(), 1);
  EXPECT_FALSE(fs::exists(tmp_.Sub(".dist.moedist-staging")));
  ExpectRerunEqualsCleanPack();
}

TEST_F(PackReplace, AKilledPackLeavesItsStagingForTheNextPackToRemove) {
  EXPECT_EQ(RepackInChild([](PackRequest& r) {
              r.after_tensor = [](uint64_t written) {
                if (written == 60) ::_exit(9);
                return Status::Ok();
              };
            }),
            9);
  EXPECT_TRUE(fs::exists(tmp_.Sub(".dist.moedist-staging")));
  EXPECT_EQ(Published(), 1);
  auto rerun = PackRelease(NewRequest(dist_));
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  EXPECT_NE(std::find(rerun->warnings.begin(), rerun->warnings.end(),
                      "removed the staging directory of an interrupted pack"),
            rerun->warnings.end());
  ExpectSameFiles(dist_, tmp_.Sub("clean"));
  EXPECT_FALSE(rerun->removed.empty()) << "group-2 of the old release is gone";
}

}  // namespace
}  // namespace moedist::pack_testing
