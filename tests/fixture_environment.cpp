// Before any test of a binary that reads fixtures runs, every file in tests/fixtures/FILES (the
// git-tracked fixtures) must be readable under the fixture folder (test_dirs::FixtureRoot()).
// Otherwise the global set-up fails naming the file, gtest runs no test and the binary exits 1:
// a missing or unreadable fixture is a failure with its path, never a crash in whichever test
// first dereferences what it could not read (tests.missing_fixtures checks this).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/fixture_files.h"
#include "tests/test_dirs.h"

namespace moedist::test_dirs {
namespace {

class FixtureEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const std::string dir = FixtureRoot() + "/fixtures/";
    std::ifstream list(dir + "FILES");
    ASSERT_TRUE(FixtureReadable(dir + "FILES"));
    std::string name;
    int missing = 0;
    while (std::getline(list, name)) {
      if (name.empty() || name[0] == '#') continue;
      if (auto readable = FixtureReadable(dir + name); !readable) {
        ADD_FAILURE() << readable.message();
        ++missing;
      }
    }
    ASSERT_EQ(missing, 0) << "fixture files missing or unreadable under " << dir;
  }
};

::testing::Environment* const kFixtureEnvironment =
    ::testing::AddGlobalTestEnvironment(new FixtureEnvironment);

}  // namespace
}  // namespace moedist::test_dirs
