// Where the tests find the repository and the folder holding fixtures/. Both are compiled in
// (MOEDIST_SOURCE_DIR, MOEDIST_FIXTURE_ROOT); MOEDIST_TEST_SOURCE_DIR and MOEDIST_TEST_FIXTURE_ROOT
// override them at run time, so the built tests can be pointed at a bare copy of the repository
// (tests.repo_copy) or at an empty fixture folder (tests.missing_fixtures) without rebuilding.
// Every test reads the repository through these two functions and nothing else.
#pragma once

#include <cstdlib>
#include <string>

namespace moedist::test_dirs {

inline std::string FromEnv(const char* variable, const char* built_in) {
  const char* value = std::getenv(variable);
  return value != nullptr && *value != '\0' ? value : built_in;
}

// The repository root (examples/, tests/<folder>/data, schemas/).
inline std::string SourceDir() {
  return FromEnv("MOEDIST_TEST_SOURCE_DIR", MOEDIST_SOURCE_DIR);
}

// The folder holding fixtures/ (tests/ by default: hf-tiny checkpoints, tokenizers).
inline std::string FixtureRoot() {
  return FromEnv("MOEDIST_TEST_FIXTURE_ROOT", MOEDIST_FIXTURE_ROOT);
}

}  // namespace moedist::test_dirs
