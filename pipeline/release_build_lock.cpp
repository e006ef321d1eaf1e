#include "pipeline/release_build_lock.h"

#include <filesystem>

namespace moedist {

Result<FileLock> AcquireBuildLock(const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    return Status::IoError("{}: cannot create the output directory: {}", out_dir, ec.message());
  }
  return FileLock::Acquire(
      (std::filesystem::path(out_dir) / kBuildLockFile).string(), FileLock::Wait::kNo,
      "another moedist build is writing this output directory; wait for it or build into "
      "another directory");
}

}  // namespace moedist
