#include "pipeline/release_build_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace moedist {

Result<BuildLock> BuildLock::Acquire(const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec)
    return Status::IoError("{}: cannot create the output directory: {}", out_dir, ec.message());
  const std::string path = (std::filesystem::path(out_dir) / kBuildLockFile).string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return Status::IoError("{}: cannot open the build lock: {}", path, std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::FailedPrecondition(
          "{}: another moedist build is writing this output directory (it holds {}); wait for it "
          "or build into another directory",
          out_dir, path);
    }
    return Status::IoError("{}: cannot lock: {}", path, std::strerror(err));
  }
  return BuildLock(fd);
}

BuildLock::~BuildLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace moedist
