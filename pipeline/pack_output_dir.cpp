#include "pipeline/pack_output_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "manifest/build_distribution.h"
#include "manifest/distribution.h"
#include "pipeline/bundle_writer.h"
#include "pipeline/node_bundle.h"
#include "pipeline/pack_layout.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

bool IsDigits(std::string_view s, size_t n = 0) {
  return !s.empty() && (n == 0 || s.size() == n) &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool NumberedName(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix)) return false;
  std::string_view n = name.substr(prefix.size());
  return IsDigits(n) && (n.size() == 1 || n[0] != '0');
}

// lstat type of a path: 'd' directory, 'f' regular file, 'l' link, '?' other, 0 missing.
char Kind(const fs::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return 0;
  if (S_ISLNK(st.st_mode)) return 'l';
  if (S_ISDIR(st.st_mode)) return 'd';
  if (S_ISREG(st.st_mode)) return 'f';
  return '?';
}

}  // namespace

Result<ReleaseDirLock> ReleaseDirLock::Acquire(const std::string& dist) {
  std::error_code ec;
  fs::create_directories(dist, ec);
  if (ec) return Status::IoError("{}: cannot create the release directory: {}", dist, ec.message());
  const int fd = ::open(dist.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return Status::IoError("{}: cannot open the release directory: {}", dist, std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::FailedPrecondition("{}: another pack is writing this release directory", dist);
    }
    return Status::IoError("{}: cannot lock the release directory: {}", dist, std::strerror(err));
  }
  return ReleaseDirLock(fd);
}

ReleaseDirLock::~ReleaseDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

bool IsPackBundleName(const std::string& name) {
  return name == "trunk" || name == "overlay" || NumberedName(name, "group-") ||
         NumberedName(name, "node-");
}

bool IsPackBundleFileName(const std::string& name) {
  if (name == kBundleIndexFile || name == kNodeShardFile || name == "config.json" ||
      name == kNodeInfoFile || name == kNodeMaskFile || IsAtomicTemporaryName(name)) {
    return true;
  }
  const auto& aux = CheckpointAuxFileNames();
  if (std::find(aux.begin(), aux.end(), name) != aux.end()) return true;
  // node-<k>.gguf (pack --format gguf|both)
  if (name.size() > 10 && name.starts_with("node-") && name.ends_with(".gguf") &&
      IsDigits(name.substr(5, name.size() - 10))) {
    return true;
  }
  // model-00001-of-00003.safetensors
  return name.size() == 32 && name.starts_with("model-") && IsDigits(name.substr(6, 5)) &&
         name.substr(11, 4) == "-of-" && IsDigits(name.substr(15, 5)) &&
         name.substr(20) == ".safetensors";
}

Status CheckReleaseDirContents(const std::string& dist) {
  std::error_code ec;
  for (const auto& top : fs::directory_iterator(dist, ec)) {
    const std::string name = top.path().filename().string();
    const char kind = Kind(top.path());
    if (kind == 'f' &&
        (name == kManifestFileName || name == kSignatureFileName || IsAtomicTemporaryName(name))) {
      continue;
    }
    if (kind != 'd' || !IsPackBundleName(name)) {
      return Status::FailedPrecondition(
          "{}: holds \"{}\", which pack does not write; refusing to "
          "pack into a directory with other content",
          dist, name);
    }
    for (const auto& entry : fs::directory_iterator(top.path(), ec)) {
      const std::string file = entry.path().filename().string();
      if (Kind(entry.path()) != 'f' || !IsPackBundleFileName(file)) {
        return Status::FailedPrecondition(
            "{}: holds \"{}/{}\", which pack does not write; "
            "refusing to pack into a directory with other content",
            dist, name, file);
      }
    }
    if (ec) return Status::IoError("{}: cannot list: {}", top.path().string(), ec.message());
  }
  if (ec) return Status::IoError("{}: cannot list: {}", dist, ec.message());
  return Status::Ok();
}

Result<std::vector<std::string>> RemoveStaleEntries(const std::string& dist,
                                                    const std::set<std::string>& keep) {
  std::set<std::string> keep_bundles;
  for (const std::string& k : keep) keep_bundles.insert(k.substr(0, k.find('/')));
  std::vector<std::string> removed;
  std::vector<fs::path> bundles;
  std::error_code ec;
  for (const auto& top : fs::directory_iterator(dist, ec)) {
    if (Kind(top.path()) == 'd' && IsPackBundleName(top.path().filename().string())) {
      bundles.push_back(top.path());
    }
  }
  if (ec) return Status::IoError("{}: cannot list: {}", dist, ec.message());
  std::sort(bundles.begin(), bundles.end());
  for (const fs::path& dir : bundles) {
    const std::string bundle = dir.filename().string();
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      const std::string rel = bundle + "/" + f.filename().string();
      if (keep.count(rel)) continue;
      if (Kind(f) != 'f' || !IsPackBundleFileName(f.filename().string())) {
        return Status::FailedPrecondition("{}: will not delete \"{}\", which pack does not write",
                                          dist, rel);
      }
      if (!fs::remove(f, ec) || ec) {
        return Status::IoError("{}: cannot remove stale {}: {}", dist, rel, ec.message());
      }
      removed.push_back(rel);
    }
    if (!keep_bundles.count(bundle)) {
      if (!fs::remove(dir, ec) || ec) {
        return Status::IoError("{}: cannot remove stale bundle {}: {}", dist, bundle, ec.message());
      }
      removed.push_back(bundle + "/");
    }
  }
  return removed;
}

}  // namespace moedist
