// Replacing a signed release as one step (manifest/release_stage.h): at every instant, crashes
// included, the release directory verifies as the old release or the new one; leftovers of a
// killed writer are removed by the next; the lock names itself.
#include "manifest/release_stage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "core/atomic_file.h"
#include "tests/manifest/manifest_testutil.h"

namespace moedist::testing {
namespace {

class ReleaseStageTest : public SignedReleaseTest {
 protected:
  void SetUp() override {
    SignedReleaseTest::SetUp();
    v1_manifest_ = ReadBytes(dist_ / kManifestFileName);
    v2_ = MakeSignedRelease("v2", 2);
    v2_manifest_ = ReadBytes(v2_ / kManifestFileName);
    ASSERT_NE(v1_manifest_, v2_manifest_);
  }
  void TearDown() override { ReleaseStage::UseTwoRenameSwitchForTesting(false); }

  // Which release dist_ verifies as: 1, 2, or 0 (neither: a failure).
  int Published() const {
    const VerifyReport r = Verify();
    if (!r.ok()) {
      ADD_FAILURE() << DescribeProblems(r);
      return 0;
    }
    const std::string m = ReadBytes(dist_ / kManifestFileName);
    return m == v1_manifest_ ? 1 : m == v2_manifest_ ? 2 : 0;
  }

  // What the staging and previous names beside dist_ hold.
  bool Exists(const std::string& suffix) const {
    return fs::exists(dist_.parent_path() / ("." + dist_.filename().string() + suffix));
  }

  // In a child process: lock, stage v2 (or half of it), publish; `die` is where it _exits.
  enum class Die { kNever, kMidCopy, kAfterSwitch };
  int RunChild(Die die) const {
    const pid_t child = ::fork();
    if (child == 0) {
      auto lock = LockRelease(dist_.string());
      auto stage = ReleaseStage::Begin(dist_.string(), ReleaseStage::Seed::kEmpty);
      if (!lock.ok() || !stage.ok()) ::_exit(2);
      int copied = 0;
      for (const std::string& f : ListReleaseFiles(v2_)) {
        if (die == Die::kMidCopy && ++copied == 3) ::_exit(9);  // no destructors: like kill -9
        fs::create_directories(fs::path(stage->path()) / fs::path(f).parent_path());
        fs::copy_file(v2_ / f, fs::path(stage->path()) / f);
      }
      const Status st = stage->Publish([die] {
        if (die == Die::kAfterSwitch) ::_exit(9);
      });
      ::_exit(st.ok() ? 0 : 3);
    }
    int status = 0;
    EXPECT_EQ(::waitpid(child, &status, 0), child);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string v1_manifest_, v2_manifest_;
  fs::path v2_;
};

TEST_F(ReleaseStageTest, PublishReplacesTheWholeReleaseAndLeavesNothingBeside) {
  ASSERT_EQ(Published(), 1);
  EXPECT_EQ(RunChild(Die::kNever), 0);
  EXPECT_EQ(Published(), 2);
  EXPECT_FALSE(Exists(".moedist-staging"));
  EXPECT_FALSE(Exists(".moedist-previous"));
  EXPECT_TRUE(Exists(".moedist-lock"));
}

TEST_F(ReleaseStageTest, KilledBeforeTheSwitchLeavesTheOldReleaseAndTheNextWriterCleansUp) {
  EXPECT_EQ(RunChild(Die::kMidCopy), 9);
  EXPECT_EQ(Published(), 1);
  EXPECT_TRUE(Exists(".moedist-staging"));
  auto stage = ReleaseStage::Begin(dist_.string(), ReleaseStage::Seed::kEmpty);
  ASSERT_TRUE(stage.ok()) << stage.status().ToString();
  EXPECT_TRUE(stage->removed_leftovers());
  EXPECT_TRUE(fs::is_empty(stage->path()));
}

TEST_F(ReleaseStageTest, KilledAfterTheSwitchLeavesTheNewReleaseAndTheOldIsDeletedNextTime) {
  EXPECT_EQ(RunChild(Die::kAfterSwitch), 9);
  EXPECT_EQ(Published(), 2);
  EXPECT_TRUE(Exists(".moedist-staging")) << "the old release waits there";
  auto stage = ReleaseStage::Begin(dist_.string(), ReleaseStage::Seed::kEmpty);
  ASSERT_TRUE(stage.ok());
  EXPECT_TRUE(stage->removed_leftovers());
  EXPECT_EQ(Published(), 2);
}

TEST_F(ReleaseStageTest, TwoRenameSwitchAndACrashBetweenItsRenamesRestoresTheOldRelease) {
  ReleaseStage::UseTwoRenameSwitchForTesting(true);
  // A crash between the two renames: DIST moved aside, the new release not yet in place.
  const fs::path previous =
      dist_.parent_path() / ("." + dist_.filename().string() + ".moedist-previous");
  fs::rename(dist_, previous);
  {
    auto lock = LockRelease(dist_.string());
    ASSERT_TRUE(lock.ok());
    auto stage = ReleaseStage::Begin(dist_.string(), ReleaseStage::Seed::kEmpty);
    ASSERT_TRUE(stage.ok()) << stage.status().ToString();
    EXPECT_TRUE(stage->removed_leftovers());
  }
  EXPECT_EQ(Published(), 1);
  EXPECT_FALSE(fs::exists(previous));
  EXPECT_EQ(RunChild(Die::kNever), 0);
  EXPECT_EQ(Published(), 2);
  EXPECT_FALSE(fs::exists(previous));
}

TEST_F(ReleaseStageTest, LinkSeedSharesFilesAndAChangedManifestLeavesTheOldUntouched) {
  auto stage = ReleaseStage::Begin(dist_.string(), ReleaseStage::Seed::kLinkCurrent);
  ASSERT_TRUE(stage.ok()) << stage.status().ToString();
  for (const std::string& f : ListReleaseFiles(dist_)) {
    struct stat a, b;
    ASSERT_EQ(::stat((dist_ / f).c_str(), &a), 0);
    ASSERT_EQ(::stat((fs::path(stage->path()) / f).c_str(), &b), 0) << f;
    EXPECT_EQ(a.st_ino, b.st_ino) << f;
  }
  ASSERT_TRUE(
      WriteFileAtomically(stage->path() + "/" + std::string(kManifestFileName), v2_manifest_).ok());
  EXPECT_EQ(Published(), 1);
}

TEST_F(ReleaseStageTest, AnUnpublishedStageIsRemovedAndTheReleaseIsUnchanged) {
  std::string path;
  {
    auto stage = ReleaseStage::Begin(dist_.string(), ReleaseStage::Seed::kLinkCurrent);
    ASSERT_TRUE(stage.ok());
    path = stage->path();
    EXPECT_TRUE(fs::exists(path));
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(Published(), 1);
}

TEST_F(ReleaseStageTest, ASecondWriterFailsAtOnceNamingTheLock) {
  auto first = LockRelease(dist_.string() + "/");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = LockRelease(dist_.string());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(ReleaseLockPath(dist_.string())), std::string::npos)
      << second.status().message();
  EXPECT_EQ(ReleaseLockPath(dist_.string()),
            (dist_.parent_path() / ("." + dist_.filename().string() + ".moedist-lock")).string());
}

TEST_F(ReleaseStageTest, RefusesALinkOrAFileOrNoNameAsTheRelease) {
  const fs::path link = tmp_.path() / "current";
  fs::create_directory_symlink(dist_, link);
  auto r = LockRelease(link.string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("symbolic link"), std::string::npos) << r.status().message();
  WriteBytes(tmp_.path() / "plain", "x");
  EXPECT_FALSE(LockRelease((tmp_.path() / "plain").string()).ok());
  EXPECT_EQ(LockRelease("..").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LockRelease("").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace moedist::testing
