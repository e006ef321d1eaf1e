// BuildLock: an exclusive flock on OUT/.moedist-build.lock for the whole of `moedist build`,
// so a second build into the same output directory fails at once with a message naming the
// lock instead of interleaving cache entries and published files (reliability row 34). The
// lock file is created once and never written, so a no-change build rewrites nothing; the lock
// is released by the kernel when the process ends, however it ends.
#pragma once

#include <string>

#include "core/status.h"

namespace moedist {

inline constexpr const char* kBuildLockFile = ".moedist-build.lock";

class BuildLock {
 public:
  // Creates `out_dir` (and its parents) if missing, then locks without waiting.
  static Result<BuildLock> Acquire(const std::string& out_dir);
  BuildLock(BuildLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  BuildLock& operator=(BuildLock&&) = delete;
  BuildLock(const BuildLock&) = delete;
  ~BuildLock();

 private:
  explicit BuildLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace moedist
