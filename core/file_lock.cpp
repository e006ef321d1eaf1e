#include "core/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace moedist {

Result<FileLock> FileLock::Acquire(const std::string& lock_path, Wait wait,
                                   std::string_view busy_message) {
  // O_RDONLY: the file is never written, so a read-only lock file (or one owned by another user
  // who shares the directory) still locks.
  const int fd = ::open(lock_path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    return Status::IoError("{}: cannot open the lock file: {}", lock_path, std::strerror(errno));
  }
  const int op = LOCK_EX | (wait == Wait::kNo ? LOCK_NB : 0);
  while (::flock(fd, op) != 0) {
    const int err = errno;
    if (err == EINTR) continue;
    ::close(fd);
    if (err == EWOULDBLOCK) return Status::FailedPrecondition("{}: {}", lock_path, busy_message);
    return Status::IoError("{}: cannot lock: {}", lock_path, std::strerror(err));
  }
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace moedist
