// The lock of `moedist build`: an exclusive flock on OUT/.moedist-build.lock for the whole
// build, so a second build into the same output directory fails at once with a message naming
// the lock instead of interleaving cache entries and published files (docs/reliability.md row
// 34). The release it publishes (OUT/dist) is also locked as every release directory is
// (manifest/release_stage.h), so a `pack --out OUT/dist` meanwhile fails the same way.
#pragma once

#include <string>

#include "core/file_lock.h"
#include "core/status.h"

namespace moedist {

inline constexpr const char* kBuildLockFile = ".moedist-build.lock";

// Creates `out_dir` (and its parents) if missing, then locks without waiting.
Result<FileLock> AcquireBuildLock(const std::string& out_dir);

}  // namespace moedist
