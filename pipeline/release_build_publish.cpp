#include "pipeline/release_build_publish.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "manifest/release_stage.h"
#include "manifest/release_tree.h"
#include "pipeline/pack_output_dir.h"
#include "pipeline/release_build_cache.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kStateFile = "published.json";

Result<std::set<std::string>> ReadState(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::set<std::string>{};
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, 256ull << 20));
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(text, path));
  if (!j.is_object() || !j.contains("published") || !j["published"].is_array()) {
    return Status::Corruption("{}: expected {{\"published\": [paths]}}", path);
  }
  std::set<std::string> out;
  for (const auto& p : j["published"]) {
    if (!p.is_string()) return Status::Corruption("{}: published: expected strings", path);
    out.insert(p.get<std::string>());
  }
  return out;
}

Status WriteState(const std::string& path, const std::set<std::string>& published,
                  const std::set<std::string>& current) {
  if (published == current) return Status::Ok();  // nothing rewritten when nothing changed
  return WriteFileAtomically(path, DumpJsonStable({{"published", published}}) + "\n");
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::lstat(a.c_str(), &sa) == 0 && ::lstat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// Puts a hard link to `source` at `target` atomically. Returns false when it already was.
Result<bool> LinkInPlace(const std::string& source, const std::string& target) {
  if (SameFile(source, target)) return false;
  const fs::path dir = fs::path(target).parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("{}: cannot create: {}", dir.string(), ec.message());
  const std::string tmp =
      (dir / fmt::format(".{}.tmp.{}", fs::path(target).filename().string(), ::getpid())).string();
  ::unlink(tmp.c_str());
  if (::link(source.c_str(), tmp.c_str()) != 0) {
    return Status::IoError("{} -> {}: cannot link: {}", source, tmp, std::strerror(errno));
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status::IoError("{}: cannot publish: {}", target, std::strerror(err));
  }
  RETURN_IF_ERROR(SyncDirectory(dir.string()));
  return true;
}

// Deletes `target` and then each parent directory below `out_dir` that became empty.
Status RemovePublished(const std::string& out_dir, const std::string& target) {
  fs::path p = fs::path(out_dir) / target;
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
    return Status::IoError("{}: cannot remove: {}", p.string(), std::strerror(errno));
  }
  for (fs::path d = p.parent_path(); d != fs::path(out_dir) && d.has_relative_path();
       d = d.parent_path()) {
    std::error_code ec;
    if (!fs::is_empty(d, ec) || ec) break;
    fs::remove(d, ec);
  }
  fs::path present = p.parent_path();
  std::error_code ec;
  while (present != fs::path(out_dir) && !fs::exists(present, ec)) present = present.parent_path();
  return SyncDirectory(present.string());
}

// Removes the temporary link names (".<name>.tmp.<pid>") a killed build left in the
// directories of `targets`.
Status RemoveStaleLinks(const std::string& out_dir, const std::set<std::string>& targets) {
  std::set<fs::path> dirs;
  for (const std::string& t : targets) dirs.insert((fs::path(out_dir) / t).parent_path());
  for (const fs::path& d : dirs) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      const std::string name = e.path().filename().string();
      const size_t tmp = name.rfind(".tmp.");
      if (name.starts_with(".") && tmp != std::string::npos && tmp + 5 < name.size() &&
          name.find_first_not_of("0123456789", tmp + 5) == std::string::npos) {
        if (::unlink(e.path().c_str()) != 0) {
          return Status::IoError("{}: cannot remove: {}", e.path().string(), std::strerror(errno));
        }
      }
    }
  }
  return Status::Ok();
}

constexpr std::string_view kReleaseDir = "dist";

// Targets under OUT/dist/ are the release, published as one directory switch.
bool IsReleaseTarget(const std::string& target) {
  return target.size() > kReleaseDir.size() && target.starts_with(kReleaseDir) &&
         target[kReleaseDir.size()] == '/';
}

// The release targets not already in place as their cache file (another inode, or missing).
Result<std::vector<std::string>> ChangedTargets(const std::string& out_dir,
                                                const std::vector<PublishItem>& items) {
  std::vector<std::string> changed;
  for (const PublishItem& i : items) {
    if (!SameFile(i.source, (fs::path(out_dir) / i.target).string())) changed.push_back(i.target);
  }
  return changed;
}

// True when OUT/dist holds a file or directory the new release does not list.
Result<bool> HasUnlistedFiles(const std::string& dist, const std::vector<PublishItem>& items) {
  std::error_code ec;
  if (!fs::exists(dist, ec)) return false;
  std::set<std::string> listed;
  for (const PublishItem& i : items) {
    std::string rel = i.target.substr(kReleaseDir.size() + 1);
    listed.insert(rel);
    for (size_t slash = rel.find('/'); slash != std::string::npos;
         slash = rel.find('/', slash + 1)) {
      listed.insert(rel.substr(0, slash));
    }
  }
  ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ListTree(dist));
  return std::any_of(entries.begin(), entries.end(),
                     [&](const TreeEntry& e) { return !listed.count(e.path); });
}

// A hard link to `source` at ROOT/REL, creating REL's directories.
Status LinkInto(const std::string& source, const std::string& root, const std::string& rel) {
  const fs::path target = fs::path(root) / rel;
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec)
    return Status::IoError("{}: cannot create: {}", target.parent_path().string(), ec.message());
  if (::link(source.c_str(), target.c_str()) != 0) {
    return Status::IoError("{} -> {}: cannot link: {}", source, target.string(),
                           std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Result<PublishOutcome> PublishOutputs(const std::string& out_dir, const std::string& cache_root,
                                      std::vector<PublishItem> items,
                                      const std::function<Status(const std::string&)>& verify_dist,
                                      const std::function<void()>& tick) {
  const std::string state_path = (fs::path(cache_root) / kStateFile).string();
  ASSIGN_OR_RETURN(std::set<std::string> old_state, ReadState(state_path));
  std::set<std::string> wanted;
  for (const PublishItem& i : items) {
    if (!wanted.insert(i.target).second) {
      return Status::Internal("two build outputs are published as {}", i.target);
    }
  }
  std::vector<PublishItem> release_items, other_items;
  for (PublishItem& i : items) {
    (IsReleaseTarget(i.target) ? release_items : other_items).push_back(std::move(i));
  }
  std::sort(other_items.begin(), other_items.end(),
            [](const PublishItem& a, const PublishItem& b) { return a.target < b.target; });
  PublishOutcome outcome;

  // 1. The release: checked before anything under OUT changes.
  const std::string dist = (fs::path(out_dir) / kReleaseDir).string();
  std::optional<ReleaseStage> stage;
  if (!release_items.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> changed, ChangedTargets(out_dir, release_items));
    ASSIGN_OR_RETURN(bool extra, HasUnlistedFiles(dist, release_items));
    if (changed.empty() && !extra) {
      RETURN_IF_ERROR(verify_dist(dist));
    } else {
      if (fs::exists(dist)) RETURN_IF_ERROR(CheckReleaseDirContents(dist));
      ASSIGN_OR_RETURN(ReleaseStage s, ReleaseStage::Begin(dist, ReleaseStage::Seed::kEmpty));
      stage.emplace(std::move(s));
      const std::set<std::string> changed_set(changed.begin(), changed.end());
      for (const PublishItem& i : release_items) {
        RETURN_IF_ERROR(LinkInto(i.source, stage->path(), i.target.substr(kReleaseDir.size() + 1)));
        if (changed_set.count(i.target)) {
          outcome.linked.push_back(i.target);
          if (tick) tick();
        }
      }
      RETURN_IF_ERROR(verify_dist(stage->path()));
    }
  }

  // 2. Everything else, file by file.
  std::set<std::string> during = old_state;
  during.insert(wanted.begin(), wanted.end());
  RETURN_IF_ERROR(WriteState(state_path, during, old_state));
  RETURN_IF_ERROR(RemoveStaleLinks(out_dir, during));
  for (const PublishItem& i : other_items) {
    ASSIGN_OR_RETURN(bool linked, LinkInPlace(i.source, (fs::path(out_dir) / i.target).string()));
    if (linked) {
      outcome.linked.push_back(i.target);
      if (tick) tick();
    }
  }
  for (const std::string& stale : old_state) {
    if (wanted.count(stale)) continue;
    if (!IsReleaseTarget(stale)) RETURN_IF_ERROR(RemovePublished(out_dir, stale));
    outcome.removed.push_back(stale);  // a release file goes with the switch below
    if (tick) tick();
  }

  // 3. The release, switched in whole (manifest/release_stage.h).
  if (stage) RETURN_IF_ERROR(stage->Publish());
  RETURN_IF_ERROR(WriteState(state_path, wanted, during));
  return outcome;
}

}  // namespace moedist
