// The Makefile equivalent of a release build (`moedist build --emit-makefile FILE`), for users
// who drive builds with make: one rule per step, each calling the moedist subcommand that does
// the step's work with the same options, writing the same files under OUT (inspect/, profile/,
// plan/, dist/) as `moedist build` publishes. Make decides what to re-run from mtimes, not
// digests, and keeps no cache; validate appears once the build has a validator.
#pragma once

#include <string>

#include "core/status.h"
#include "pipeline/release_build_spec.h"

namespace moedist {

struct MakefileSettings {
  std::string moedist_exe;  // absolute path of the moedist executable
  int threads = 1;
  std::string release_source;  // release.json, named in the header comment
};

// Refuses paths make cannot carry (whitespace, '$', '#', ':', quotes), naming the field.
Result<std::string> ReleaseMakefile(const ReleaseSpec& spec, const MakefileSettings& settings);

}  // namespace moedist
