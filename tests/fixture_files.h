// Fixture files in tests: a missing or unreadable fixture is a test failure that names the file,
// never a crash further on (an empty Result dereferenced, a JSON parse of nothing).
//   ASSERT_TRUE(test_dirs::FixtureReadable(path));   // before reading `path`
#pragma once

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace moedist::test_dirs {

inline ::testing::AssertionResult FixtureReadable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return ::testing::AssertionFailure()
           << "cannot read fixture " << path << ": " << std::strerror(errno)
           << " (fixtures live in the repository: tests/fixtures, examples/)";
  }
  return ::testing::AssertionSuccess();
}

// The whole file; a failure naming it (and "") when it cannot be read.
inline std::string ReadFixture(const std::string& path) {
  EXPECT_TRUE(FixtureReadable(path));
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace moedist::test_dirs
