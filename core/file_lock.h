// FileLock: an exclusive flock(2) on a lock file, held for the object's lifetime. The kernel
// releases it when the process ends however it ends (kill -9 included), so a lock is never left
// behind by a crash. The lock file itself is created once and never written: it carries no
// state, and a stale file is harmless.
//
// Every writer of a shared directory takes its lock through here: `build` on OUT
// (release_build_lock.h), every command that writes a release directory on the release's lock
// (manifest/release_stage.h), and verify on the last-accepted record (last_accepted.h).
// Thread safety: flock locks belong to an open file description: two FileLocks on one path in one
// process exclude each other like two processes do.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace moedist {

class FileLock {
 public:
  enum class Wait { kNo, kYes };
  // Creates `lock_path` if missing and locks it. With Wait::kNo a held lock fails at once with
  // FailedPrecondition "<lock_path>: <busy_message>"; with Wait::kYes it blocks until free.
  static Result<FileLock> Acquire(const std::string& lock_path, Wait wait,
                                  std::string_view busy_message);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace moedist
