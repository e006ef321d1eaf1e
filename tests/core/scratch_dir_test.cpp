// ScratchDir: a temporary directory is removed with its content; a given one is created and kept.
#include "core/scratch_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace moedist {
namespace {
namespace fs = std::filesystem;

TEST(ScratchDir, OwnedTemporaryIsRemovedWithItsContent) {
  std::string path;
  {
    auto s = ScratchDir::Make("", "moedist-scratch-test");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    path = s->path();
    EXPECT_NE(fs::path(path).filename().string().find("moedist-scratch-test-"), std::string::npos);
    fs::create_directories(path + "/a/b");
    std::ofstream(path + "/a/b/file") << "x";
    ScratchDir moved = std::move(s).value();  // the moved-from one must not remove it
    EXPECT_TRUE(fs::exists(path + "/a/b/file"));
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(ScratchDir, GivenDirectoryIsCreatedAndKept) {
  const fs::path base =
      fs::temp_directory_path() / ("moedist-scratch-given-" + std::to_string(::getpid()));
  fs::remove_all(base);
  {
    auto s = ScratchDir::Make((base / "x/y").string(), "unused");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE(fs::is_directory(base / "x/y"));
  }
  EXPECT_TRUE(fs::is_directory(base / "x/y"));
  fs::remove_all(base);
  // A path under a regular file cannot be created: an error naming it.
  std::ofstream(base.string() + "-file") << "x";
  auto bad = ScratchDir::Make(base.string() + "-file/sub", "unused");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("-file/sub"), std::string::npos);
  fs::remove(base.string() + "-file");
}

}  // namespace
}  // namespace moedist
