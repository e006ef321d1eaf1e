#include "core/file_stamp.h"

#include <cerrno>
#include <cstring>

namespace moedist {

FileStamp StampOf(const struct stat& st) {
  auto ns = [](const struct timespec& t) {
    return static_cast<int64_t>(t.tv_sec) * 1000000000 + static_cast<int64_t>(t.tv_nsec);
  };
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
          static_cast<uint64_t>(st.st_size), ns(st.st_mtim), ns(st.st_ctim)};
}

Result<FileStamp> StampPath(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return Status::IoError("{}: cannot stat: {}", path, std::strerror(errno));
  }
  return StampOf(st);
}

}  // namespace moedist
