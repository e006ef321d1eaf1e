#include "manifest/release_stage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/atomic_file.h"
#include "manifest/release_tree.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_two_rename_switch{false};

struct ReleasePaths {
  std::string dist;    // normalised, no trailing slash
  std::string parent;  // "." when DIST has none
  std::string name;
  std::string Beside(std::string_view suffix) const {
    return (fs::path(parent) / ("." + name + std::string(suffix))).string();
  }
};

Result<ReleasePaths> Split(const std::string& dist) {
  fs::path p = fs::path(dist).lexically_normal();
  if (!p.has_filename() && p.has_parent_path()) p = p.parent_path();  // "dir/" → "dir"
  const std::string name = p.filename().string();
  if (dist.empty() || name.empty() || name == "." || name == ".." || p == p.root_path()) {
    return Status::InvalidArgument("\"{}\": name a release directory (not \".\", \"..\" or /)",
                                   dist);
  }
  return ReleasePaths{p.string(), p.has_parent_path() ? p.parent_path().string() : ".", name};
}

// lstat: 0 missing, 'd' directory, 'l' symbolic link, 'f' anything else.
Result<char> KindOf(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return char{0};
    return Status::IoError("{}: cannot stat: {}", path, std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode)) return 'l';
  return S_ISDIR(st.st_mode) ? 'd' : 'f';
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return Status::IoError("{}: cannot remove: {}", path, ec.message());
  return Status::Ok();
}

Status SyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::IoError("{}: cannot open to sync: {}", path, std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IoError("{}: fsync failed: {}", path, std::strerror(err));
  return Status::Ok();
}

// Every file and directory of the staged tree reaches the disk before the switch: after a crash
// the release at DIST is complete, not a tree of empty names. Files written through AtomicFile
// are clean already and cost one syscall each.
Status SyncTree(const std::string& root) {
  ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ListTree(root));
  std::vector<std::string> dirs;
  for (const TreeEntry& e : entries) {
    const std::string path = root + "/" + e.path;
    if (e.kind == TreeEntry::kFile) {
      RETURN_IF_ERROR(SyncFile(path));
    } else if (e.kind == TreeEntry::kDirectory) {
      dirs.push_back(path);
    } else {
      return Status::Internal("{}: a {} in a staged release", path, TreeEntryKindName(e.kind));
    }
  }
  std::sort(dirs.rbegin(), dirs.rend());  // deepest first
  for (const std::string& d : dirs) RETURN_IF_ERROR(SyncDirectory(d));
  return SyncDirectory(root);
}

Status LinkTree(const std::string& from, const std::string& to) {
  ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ListTree(from));
  for (const TreeEntry& e : entries) {
    const std::string src = from + "/" + e.path;
    const std::string dst = to + "/" + e.path;
    if (e.kind == TreeEntry::kDirectory) {
      if (::mkdir(dst.c_str(), 0755) != 0) {
        return Status::IoError("{}: cannot create: {}", dst, std::strerror(errno));
      }
    } else if (e.kind == TreeEntry::kFile) {
      if (::link(src.c_str(), dst.c_str()) != 0) {
        return Status::IoError("{} -> {}: cannot link: {}", src, dst, std::strerror(errno));
      }
    } else {
      return Status::FailedPrecondition("{}: a {} in a release directory; refusing to copy it", src,
                                        TreeEntryKindName(e.kind));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string ReleaseLockPath(const std::string& dist) {
  auto paths = Split(dist);
  return paths.ok() ? paths->Beside(".moedist-lock") : dist + ".moedist-lock";
}

Result<FileLock> LockRelease(const std::string& dist) {
  ASSIGN_OR_RETURN(const ReleasePaths p, Split(dist));
  ASSIGN_OR_RETURN(const char kind, KindOf(p.dist));
  if (kind == 'l') {
    return Status::FailedPrecondition(
        "{}: is a symbolic link; name the release directory itself (a release is replaced by "
        "switching directories, which would replace the link)",
        p.dist);
  }
  if (kind == 'f') return Status::FailedPrecondition("{}: exists and is not a directory", p.dist);
  std::error_code ec;
  fs::create_directories(p.parent, ec);
  if (ec) return Status::IoError("{}: cannot create: {}", p.parent, ec.message());
  return FileLock::Acquire(
      p.Beside(".moedist-lock"), FileLock::Wait::kNo,
      fmt::format("another moedist command (pack, build, sign, validate or unpack) is writing the "
                  "release {}; wait for it to finish or write elsewhere",
                  p.dist));
}

Result<ReleaseStage> ReleaseStage::Begin(const std::string& dist, Seed seed) {
  ASSIGN_OR_RETURN(const ReleasePaths p, Split(dist));
  const std::string stage = p.Beside(".moedist-staging");
  const std::string previous = p.Beside(".moedist-previous");
  ASSIGN_OR_RETURN(const char previous_kind, KindOf(previous));
  if (previous_kind != 0) {
    ASSIGN_OR_RETURN(const char dist_kind, KindOf(p.dist));
    if (dist_kind == 0 && previous_kind == 'd') {
      // A two-rename switch died between its renames: the old release goes back.
      if (::rename(previous.c_str(), p.dist.c_str()) != 0) {
        return Status::IoError("{}: cannot restore {}: {}", p.dist, previous, std::strerror(errno));
      }
    } else {
      RETURN_IF_ERROR(RemoveTree(previous));
    }
    RETURN_IF_ERROR(SyncDirectory(p.parent));
  }
  ASSIGN_OR_RETURN(const char stage_kind, KindOf(stage));
  RETURN_IF_ERROR(RemoveTree(stage));  // what a killed writer left
  if (::mkdir(stage.c_str(), 0755) != 0) {
    return Status::IoError("{}: cannot create the staging directory: {}", stage,
                           std::strerror(errno));
  }
  ReleaseStage out(p.dist, stage);
  out.removed_leftovers_ = previous_kind != 0 || stage_kind != 0;
  ASSIGN_OR_RETURN(const char dist_kind, KindOf(p.dist));
  if (seed == Seed::kLinkCurrent && dist_kind == 'd') RETURN_IF_ERROR(LinkTree(p.dist, stage));
  return out;
}

ReleaseStage::ReleaseStage(ReleaseStage&& other) noexcept
    : dist_(std::move(other.dist_)),
      stage_(std::move(other.stage_)),
      removed_leftovers_(other.removed_leftovers_) {
  other.stage_.clear();
}

ReleaseStage::~ReleaseStage() {
  std::error_code ec;
  if (!stage_.empty()) fs::remove_all(stage_, ec);
}

void ReleaseStage::UseTwoRenameSwitchForTesting(bool on) {
  g_two_rename_switch = on;
}

Status ReleaseStage::Publish(const std::function<void()>& after_switch) {
  if (stage_.empty())
    return Status::Internal("{}: the staged release was published already", dist_);
  ASSIGN_OR_RETURN(const ReleasePaths p, Split(dist_));
  RETURN_IF_ERROR(SyncTree(stage_));
  ASSIGN_OR_RETURN(const char dist_kind, KindOf(p.dist));
  std::string old;  // where the replaced release ends up
  if (dist_kind == 0) {
    if (::rename(stage_.c_str(), p.dist.c_str()) != 0) {
      return Status::IoError("{}: cannot publish {}: {}", p.dist, stage_, std::strerror(errno));
    }
  } else if (dist_kind != 'd') {
    return Status::FailedPrecondition("{}: exists and is not a directory", p.dist);
  } else if (!g_two_rename_switch && ::renameat2(AT_FDCWD, stage_.c_str(), AT_FDCWD, p.dist.c_str(),
                                                 RENAME_EXCHANGE) == 0) {
    old = stage_;
  } else if (!g_two_rename_switch && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
    return Status::IoError("{}: cannot switch in {}: {}", p.dist, stage_, std::strerror(errno));
  } else {
    // No RENAME_EXCHANGE here: two renames, and Begin() repairs a crash between them.
    old = p.Beside(".moedist-previous");
    if (::rename(p.dist.c_str(), old.c_str()) != 0) {
      return Status::IoError("{}: cannot move aside to {}: {}", p.dist, old, std::strerror(errno));
    }
    if (::rename(stage_.c_str(), p.dist.c_str()) != 0) {
      const int err = errno;
      ::rename(old.c_str(), p.dist.c_str());  // put the old release back
      return Status::IoError("{}: cannot publish {}: {}", p.dist, stage_, std::strerror(err));
    }
  }
  stage_.clear();  // published: the destructor must not touch the path any more
  RETURN_IF_ERROR(SyncDirectory(p.parent));
  if (after_switch) after_switch();
  if (!old.empty()) {
    RETURN_IF_ERROR(RemoveTree(old).WithContext("the new release is in place; the old one"));
    RETURN_IF_ERROR(SyncDirectory(p.parent));
  }
  return Status::Ok();
}

}  // namespace moedist
