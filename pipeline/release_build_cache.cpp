#include "pipeline/release_build_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "manifest/file_digest.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCacheFormat = "moedist-build-cache/1";
constexpr std::string_view kEntryFile = "entry.json";
constexpr uint64_t kMaxEntryBytes = 64ull << 20;
constexpr const char* kObjectsDir = "objects";

int64_t MtimeNs(const struct stat& st) {
  return int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
}

nlohmann::json EntryToJson(const CacheEntry& e) {
  nlohmann::json files = nlohmann::json::array();
  for (const CachedFile& f : e.files) {
    files.push_back(
        {{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}, {"mtime_ns", f.mtime_ns}});
  }
  return {{"format", kCacheFormat}, {"key", e.key}, {"files", files}};
}

Result<CacheEntry> ReadEntry(const std::string& dir, const std::string& key) {
  const std::string path = (fs::path(dir) / kEntryFile).string();
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMaxEntryBytes));
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(text, path));
  CacheEntry e;
  e.key = key;
  e.out_dir = (fs::path(dir) / "out").string();
  try {
    if (j.at("format") != kCacheFormat || j.at("key") != key) {
      return Status::Corruption("{}: not the entry of key {}", path, key);
    }
    for (const auto& f : j.at("files")) {
      e.files.push_back({f.at("path").get<std::string>(), f.at("size").get<uint64_t>(),
                         f.at("sha256").get<std::string>(), f.at("mtime_ns").get<int64_t>()});
    }
  } catch (const nlohmann::json::exception& ex) {
    return Status::Corruption("{}: {}", path, ex.what());
  }
  return e;
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return Status::IoError("{}: cannot remove: {}", path, ec.message());
  return Status::Ok();
}

bool SameBytes(const std::string& a, const std::string& b) {
  auto fa = MappedFile::Open(a);
  auto fb = MappedFile::Open(b);
  if (!fa.ok() || !fb.ok() || (*fa)->size() != (*fb)->size()) return false;
  return (*fa)->size() == 0 ||
         std::memcmp((*fa)->bytes().data(), (*fb)->bytes().data(), (*fa)->size()) == 0;
}

// Makes `path` (just hashed to `sha256`) share one inode with every other cached file of the
// same content, through objects/<sha256>: equal outputs of different entries (the trunk of a
// release packed again after an overlay change) are then the same file, and publishing them
// again finds nothing to do. An object whose bytes differ (changed in place) is replaced.
Status ShareObject(const std::string& objects, const std::string& path, const std::string& sha256) {
  const std::string obj = (fs::path(objects) / sha256).string();
  if (fs::exists(obj) && SameBytes(obj, path)) {
    const std::string tmp = path + ".obj";
    if (::link(obj.c_str(), tmp.c_str()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
      return Status::IoError("{}: cannot link to {}: {}", path, obj, std::strerror(errno));
    }
    return Status::Ok();
  }
  ::unlink(obj.c_str());
  if (::link(path.c_str(), obj.c_str()) != 0) {
    return Status::IoError("{}: cannot link to {}: {}", path, obj, std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> StepCacheKey(const std::string& step, const std::string& tool_version,
                                 const nlohmann::json& params,
                                 const std::map<std::string, std::string>& inputs) {
  const nlohmann::json doc = {{"format", kCacheFormat},
                              {"step", step},
                              {"tool", tool_version},
                              {"params", params},
                              {"inputs", inputs}};
  return Sha256Hex(DumpJsonStable(doc, -1));
}

std::string StepCache::WorkDir(const std::string& key) const {
  // No pid in the name: the build lock makes this build the only writer, and a fixed path keeps
  // outputs that record where they were made (validate's report) the same on a rerun.
  return (fs::path(root_) / fmt::format("tmp.{}", key)).string();
}

std::optional<CacheEntry> StepCache::Find(const std::string& key) const {
  const std::string dir = (fs::path(root_) / key).string();
  auto entry = ReadEntry(dir, key);
  if (!entry.ok()) return std::nullopt;
  for (const CachedFile& f : entry->files) {
    struct stat st;
    const std::string p = (fs::path(entry->out_dir) / f.path).string();
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) != f.size || MtimeNs(st) != f.mtime_ns) {
      return std::nullopt;
    }
  }
  return std::move(entry).value();
}

void StepCache::AbandonWork(const std::string& key) const {
  std::error_code ec;
  fs::remove_all(WorkDir(key), ec);  // best effort: the next build removes tmp.* anyway
}

Status StepCache::Remove(const std::string& key) const {
  return RemoveTree((fs::path(root_) / key).string());
}

Status StepCache::RemoveStaleWork() const {
  std::error_code ec;
  if (!fs::exists(root_, ec)) return Status::Ok();
  for (const auto& d : fs::directory_iterator(root_, ec)) {
    if (d.path().filename().string().starts_with("tmp.")) RETURN_IF_ERROR(RemoveTree(d.path()));
  }
  if (ec) return Status::IoError("{}: cannot list: {}", root_, ec.message());
  return Status::Ok();
}

Result<std::string> StepCache::BeginWork(const std::string& key) {
  RETURN_IF_ERROR(RemoveStaleWork());
  RETURN_IF_ERROR(RemoveTree((fs::path(root_) / key).string()));  // damaged, or Find said so
  const std::string out = (fs::path(WorkDir(key)) / "out").string();
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return Status::IoError("{}: cannot create: {}", out, ec.message());
  return out;
}

Result<CacheEntry> StepCache::Commit(const std::string& key, int threads) {
  const std::string work = WorkDir(key);
  const std::string out = (fs::path(work) / "out").string();
  std::vector<DigestJob> jobs;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(out, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_symlink() || (!it->is_regular_file() && !it->is_directory())) {
      return Status::Internal("{}: step output {} is not a regular file", work,
                              it->path().string());
    }
    if (it->is_regular_file()) {
      jobs.push_back({out, fs::relative(it->path(), out).generic_string(),
                      std::numeric_limits<uint64_t>::max(), it->file_size()});
    }
  }
  if (ec) return Status::IoError("{}: cannot list: {}", out, ec.message());
  std::sort(jobs.begin(), jobs.end(),
            [](const DigestJob& a, const DigestJob& b) { return a.relative < b.relative; });
  std::vector<Result<FileDigest>> digests = DigestFiles(jobs, threads);
  CacheEntry entry;
  entry.key = key;
  const std::string objects = (fs::path(root_) / kObjectsDir).string();
  fs::create_directories(objects, ec);
  if (ec) return Status::IoError("{}: cannot create: {}", objects, ec.message());
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!digests[i].ok()) return digests[i].status();
    const std::string p = (fs::path(out) / jobs[i].relative).string();
    struct stat st;
    if (::chmod(p.c_str(), 0444) != 0) {
      return Status::IoError("{}: cannot seal: {}", p, std::strerror(errno));
    }
    RETURN_IF_ERROR(ShareObject(objects, p, digests[i]->sha256));
    if (::lstat(p.c_str(), &st) != 0) {
      return Status::IoError("{}: cannot stat: {}", p, std::strerror(errno));
    }
    entry.files.push_back({jobs[i].relative, digests[i]->size, digests[i]->sha256, MtimeNs(st)});
  }
  RETURN_IF_ERROR(WriteFileAtomically((fs::path(work) / kEntryFile).string(),
                                      DumpJsonStable(EntryToJson(entry)) + "\n"));
  const std::string final_dir = (fs::path(root_) / key).string();
  if (::rename(work.c_str(), final_dir.c_str()) != 0) {
    return Status::IoError("{} -> {}: cannot commit cache entry: {}", work, final_dir,
                           std::strerror(errno));
  }
  RETURN_IF_ERROR(SyncDirectory(root_));
  entry.out_dir = (fs::path(final_dir) / "out").string();
  return entry;
}

Result<size_t> StepCache::Prune(const std::vector<std::string>& keep) const {
  const std::set<std::string> keys(keep.begin(), keep.end());
  size_t removed = 0;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(root_, ec)) {
    const std::string name = d.path().filename().string();
    if (!d.is_directory() || name.starts_with("tmp.") || name == kObjectsDir || keys.count(name)) {
      continue;
    }
    if (!fs::exists(d.path() / kEntryFile)) continue;  // not an entry: leave it alone
    RETURN_IF_ERROR(RemoveTree(d.path()));
    ++removed;
  }
  if (ec) return Status::IoError("{}: cannot list: {}", root_, ec.message());
  // Objects no entry links to any more (one link: the store's own).
  const fs::path objects = fs::path(root_) / kObjectsDir;
  for (const auto& o : fs::directory_iterator(objects, ec)) {
    struct stat st;
    if (::lstat(o.path().c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) {
      ::unlink(o.path().c_str());
    }
  }
  return removed;
}

}  // namespace moedist
