#include "core/file_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace moedist {
namespace {

namespace fs = std::filesystem;

std::string LockPath() {
  return (fs::temp_directory_path() /
          ("moedist-file-lock-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name()))
      .string();
}

TEST(FileLock, ASecondHolderFailsAtOnceWithTheMessageAndTheLockFile) {
  const std::string path = LockPath();
  {
    auto first = FileLock::Acquire(path, FileLock::Wait::kNo, "busy: try later");
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    auto second = FileLock::Acquire(path, FileLock::Wait::kNo, "busy: try later");
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(second.status().message(), path + ": busy: try later");
  }
  EXPECT_TRUE(FileLock::Acquire(path, FileLock::Wait::kNo, "").ok()) << "released on destruction";
  fs::remove(path);
}

TEST(FileLock, AKilledHolderReleasesTheLock) {
  const std::string path = LockPath();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    auto lock = FileLock::Acquire(path, FileLock::Wait::kNo, "");
    char c = lock.ok() ? 'y' : 'n';
    (void)::write(ready[1], &c, 1);
    ::pause();  // held until killed
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  EXPECT_FALSE(FileLock::Acquire(path, FileLock::Wait::kNo, "").ok());
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(FileLock::Acquire(path, FileLock::Wait::kNo, "").ok());
  ::close(ready[0]);
  ::close(ready[1]);
  fs::remove(path);
}

TEST(FileLock, WaitBlocksUntilTheHolderLets) {
  const std::string path = LockPath();
  auto held = std::make_unique<FileLock>(FileLock::Acquire(path, FileLock::Wait::kNo, "").value());
  std::thread releaser([&held] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    held.reset();
  });
  const auto start = std::chrono::steady_clock::now();
  auto waited = FileLock::Acquire(path, FileLock::Wait::kYes, "");
  EXPECT_TRUE(waited.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  releaser.join();
  fs::remove(path);
}

TEST(FileLock, AnUnopenablePathIsAnIoErrorNamingIt) {
  auto r = FileLock::Acquire("/nonexistent-dir/x.lock", FileLock::Wait::kNo, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(r.status().message().find("/nonexistent-dir/x.lock"), std::string::npos);
}

}  // namespace
}  // namespace moedist
