#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace moedist {
namespace {

std::atomic<uint64_t> g_temp_counter{0};

}  // namespace

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return Status::IoError("{}: cannot open directory to sync: {}", dir, std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IoError("{}: fsync of directory failed: {}", dir, std::strerror(err));
  return Status::Ok();
}

Result<AtomicFile> AtomicFile::Create(const std::string& final_path) {
  std::filesystem::path p(final_path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  std::string temp =
      (std::filesystem::path(dir) /
       fmt::format(".{}.tmp.{}.{}", p.filename().string(), ::getpid(), g_temp_counter.fetch_add(1)))
          .string();
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IoError("{}: cannot create temporary file {}: {}", final_path, temp,
                           std::strerror(errno));
  }
  return AtomicFile(final_path, temp, fd);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : final_path_(std::move(other.final_path_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(other.fd_),
      written_(other.written_),
      stamp_(other.stamp_) {
  other.fd_ = -1;
  other.temp_path_.clear();
}

AtomicFile::~AtomicFile() {
  Abandon();
}

void AtomicFile::Abandon() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }
}

Status AtomicFile::Write(std::span<const uint8_t> bytes) {
  if (fd_ < 0) return Status::Internal("{}: write after commit or failure", final_path_);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = Status::IoError("{}: write failed after {} bytes: {}", final_path_,
                                  written_ + done, std::strerror(errno));
      Abandon();
      return st;
    }
    done += static_cast<size_t>(n);
  }
  written_ += done;
  return Status::Ok();
}

Status AtomicFile::Commit() {
  if (fd_ < 0) return Status::Internal("{}: commit after failure", final_path_);
  if (::fsync(fd_) != 0) {
    Status st = Status::IoError("{}: fsync failed: {}", final_path_, std::strerror(errno));
    Abandon();
    return st;
  }
  if (::close(fd_) != 0) {
    fd_ = -1;
    Status st = Status::IoError("{}: close failed: {}", final_path_, std::strerror(errno));
    Abandon();
    return st;
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    Status st = Status::IoError("{}: rename from {} failed: {}", final_path_, temp_path_,
                                std::strerror(errno));
    Abandon();
    return st;
  }
  temp_path_.clear();
  std::filesystem::path p(final_path_);
  RETURN_IF_ERROR(SyncDirectory(p.has_parent_path() ? p.parent_path().string() : "."));
  ASSIGN_OR_RETURN(stamp_, StampPath(final_path_));
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& final_path, std::string_view content) {
  ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(final_path));
  RETURN_IF_ERROR(file.WriteText(content));
  return file.Commit();
}

}  // namespace moedist
