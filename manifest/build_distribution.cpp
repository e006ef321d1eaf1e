#include "manifest/build_distribution.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/atomic_file.h"
#include "manifest/release_path.h"
#include "manifest/release_time.h"
#include "manifest/release_tree.h"

namespace moedist {

namespace fs = std::filesystem;

namespace {

Status CheckSections(const DistributionSections& s) {
  RETURN_IF_ERROR(CheckReleaseName(s.release.name, "release.name"));
  if (s.release.version == 0) return Status::InvalidArgument("release.version must be at least 1");
  ASSIGN_OR_RETURN(int64_t created, ParseRfc3339Utc(s.release.created, "release.created"));
  ASSIGN_OR_RETURN(int64_t expires, ParseRfc3339Utc(s.release.expires, "release.expires"));
  if (expires <= created) {
    return Status::InvalidArgument("release.expires {} is not after release.created {}",
                                   s.release.expires, s.release.created);
  }
  if (s.nodes.empty()) return Status::InvalidArgument("a release needs at least one node");
  return Status::Ok();
}

// The bundle directories of `dist_dir`; refuses anything else but distribution.json(.sig).
Result<std::vector<std::string>> ListBundleDirs(const std::string& dist_dir) {
  std::vector<std::string> bundles;
  std::error_code ec;
  fs::directory_iterator it(dist_dir, ec);
  if (ec)
    return Status::IoError("{}: cannot list the release directory: {}", dist_dir, ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IoError("{}: cannot list: {}", dist_dir, ec.message());
    const std::string name = it->path().filename().string();
    const fs::file_status st = it->symlink_status(ec);
    if (ec) return Status::IoError("{}: cannot stat: {}", it->path().string(), ec.message());
    if ((name == kManifestFileName || name == kSignatureFileName) &&
        st.type() == fs::file_type::regular) {
      continue;  // replaced below
    }
    if (IsAtomicTemporaryName(name) && name.rfind(".distribution.json", 0) == 0 &&
        st.type() == fs::file_type::regular) {
      // Our own manifest writer's leftover from an interrupted run; the caller holds the lock.
      if (::unlink(it->path().c_str()) != 0 && errno != ENOENT) {
        return Status::IoError("{}: cannot remove a stale temporary: {}", it->path().string(),
                               std::strerror(errno));
      }
      continue;
    }
    if (st.type() != fs::file_type::directory) {
      return Status::FailedPrecondition(
          "{}: unexpected {} in the release directory (only bundle "
          "directories and {} belong there)",
          it->path().string(), st.type() == fs::file_type::symlink ? "symbolic link" : "file",
          kManifestFileName);
    }
    RETURN_IF_ERROR(CheckReleaseName(name, fmt::format("{}: bundle directory", dist_dir)));
    bundles.push_back(name);
  }
  std::sort(bundles.begin(), bundles.end());
  RETURN_IF_ERROR(CheckNoDuplicates(bundles, fmt::format("{}: bundle directories", dist_dir)));
  return bundles;
}

// Every file of one bundle, checked against the path rules; sizes filled, digests not yet.
Result<std::vector<ManifestFile>> ListBundleFiles(const std::string& bundle_dir) {
  ASSIGN_OR_RETURN(std::vector<TreeEntry> tree, ListTree(bundle_dir));
  std::vector<ManifestFile> files;
  std::vector<std::string> paths;
  std::set<std::string> parents;  // directories that hold something
  for (const TreeEntry& e : tree) {
    const std::string shown = fmt::format("{}/{}", bundle_dir, e.path);
    if (e.kind == TreeEntry::kSymlink || e.kind == TreeEntry::kOther) {
      return Status::FailedPrecondition("{}: {} in a bundle (only regular files are allowed)",
                                        shown, TreeEntryKindName(e.kind));
    }
    RETURN_IF_ERROR(CheckReleasePath(e.path, bundle_dir));
    fs::path parent = fs::path(e.path).parent_path();
    for (; !parent.empty(); parent = parent.parent_path()) parents.insert(parent.generic_string());
    if (IsAtomicTemporaryName(fs::path(e.path).filename().string())) {
      return Status::FailedPrecondition(
          "{}: temporary file of an interrupted write (remove it, "
          "e.g. with RemoveStaleTemporaries, and rerun)",
          shown);
    }
    if (e.kind == TreeEntry::kFile) {
      files.push_back({e.path, e.size, ""});
      paths.push_back(e.path);
    }
  }
  for (const TreeEntry& e : tree) {
    if (e.kind == TreeEntry::kDirectory && !parents.count(e.path)) {
      return Status::FailedPrecondition(
          "{}/{}: empty directory (a manifest lists files only; "
          "remove it)",
          bundle_dir, e.path);
    }
  }
  RETURN_IF_ERROR(CheckNoDuplicates(paths, bundle_dir));
  return files;
}

}  // namespace

bool IsAtomicTemporaryName(std::string_view name) {
  // ".<name>.tmp.<pid>.<n>"
  if (name.size() < 2 || name.front() != '.') return false;
  auto digits = [](std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const size_t last_dot = name.rfind('.');
  if (last_dot == std::string_view::npos || last_dot == 0) return false;
  const size_t pid_dot = name.rfind('.', last_dot - 1);
  if (pid_dot == std::string_view::npos || pid_dot < 4) return false;
  if (!digits(name.substr(last_dot + 1)) ||
      !digits(name.substr(pid_dot + 1, last_dot - pid_dot - 1))) {
    return false;
  }
  return name.substr(0, pid_dot).ends_with(".tmp") && pid_dot > 5;
}

Result<size_t> RemoveStaleTemporaries(const std::string& dist_dir) {
  std::error_code ec;
  std::vector<fs::path> victims;
  fs::recursive_directory_iterator it(dist_dir, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->symlink_status(ec).type() == fs::file_type::regular &&
        IsAtomicTemporaryName(it->path().filename().string())) {
      victims.push_back(it->path());
    }
  }
  if (ec) return Status::IoError("{}: cannot list: {}", dist_dir, ec.message());
  for (const fs::path& p : victims) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
      return Status::IoError("{}: cannot remove: {}", p.string(), std::strerror(errno));
    }
  }
  return victims.size();
}

Result<std::vector<ManifestFile>> DescribeFiles(const std::string& root,
                                                const std::vector<std::string>& paths,
                                                const BuildOptions& options,
                                                std::vector<FileStamp>* stamps) {
  std::vector<std::string> sorted = paths;
  std::sort(sorted.begin(), sorted.end());
  RETURN_IF_ERROR(CheckNoDuplicates(sorted, root));
  std::vector<DigestJob> jobs;
  for (const std::string& p : sorted) {
    RETURN_IF_ERROR(CheckReleasePath(p, root));
    jobs.push_back({root, p});
  }
  std::vector<Result<FileDigest>> digests = DigestFiles(jobs, options.threads, options.digest);
  std::vector<ManifestFile> out;
  for (size_t i = 0; i < digests.size(); ++i) {
    if (!digests[i].ok()) return digests[i].status();
    out.push_back({sorted[i], digests[i]->size, digests[i]->sha256});
    if (stamps != nullptr) stamps->push_back(digests[i]->stamp);
  }
  return out;
}

Status CheckFilesUnchangedSince(const std::string& root, const std::vector<ManifestFile>& files,
                                const std::vector<FileStamp>& stamps) {
  if (stamps.size() != files.size()) {
    return Status::Internal("{}: {} stamps for {} files", root, stamps.size(), files.size());
  }
  std::vector<std::string> changed;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string path = (fs::path(root) / files[i].path).string();
    auto now = StampPath(path);
    if (!now.ok()) {
      changed.push_back(now.status().message());
    } else if (!(*now == stamps[i])) {
      changed.push_back(
          fmt::format("{}: modified while being read (inode, size, mtime or ctime "
                      "differ from when it was hashed)",
                      path));
    }
  }
  if (changed.empty()) return Status::Ok();
  return Status::FailedPrecondition("{} of {} files changed while they were read: {}",
                                    changed.size(), files.size(), fmt::join(changed, "; "));
}

Status CheckFilesUnchanged(const std::string& root, const std::vector<ManifestFile>& files,
                           const BuildOptions& options) {
  std::vector<DigestJob> jobs;
  for (const ManifestFile& f : files) jobs.push_back({root, f.path, f.size, f.size});
  std::vector<Result<FileDigest>> digests = DigestFiles(jobs, options.threads, options.digest);
  std::vector<std::string> changed;
  for (size_t i = 0; i < digests.size(); ++i) {
    if (!digests[i].ok()) {
      changed.push_back(digests[i].status().message());
    } else if (digests[i]->size != files[i].size || digests[i]->sha256 != files[i].sha256) {
      changed.push_back(fmt::format("{}/{}: content changed (SHA-256 {} recorded, {} now)", root,
                                    files[i].path, files[i].sha256, digests[i]->sha256));
    }
  }
  if (changed.empty()) return Status::Ok();
  return Status::FailedPrecondition("{} of {} files changed since they were recorded: {}",
                                    changed.size(), files.size(), fmt::join(changed, "; "));
}

Result<Distribution> BuildDistribution(const std::string& dist_dir,
                                       const DistributionSections& sections,
                                       const BuildOptions& options) {
  RETURN_IF_ERROR(CheckSections(sections));
  Distribution d;
  d.release = sections.release;
  d.source = sections.source;
  d.routing = sections.routing;
  d.calibration = sections.calibration;
  d.partition = sections.partition;
  d.overlay = sections.overlay;
  d.recipe = sections.recipe;
  d.validation = sections.validation;
  d.nodes = sections.nodes;

  ASSIGN_OR_RETURN(std::vector<std::string> bundle_names, ListBundleDirs(dist_dir));
  std::vector<DigestJob> jobs;
  std::vector<ManifestFile*> targets;
  for (const std::string& name : bundle_names) {
    const std::string bundle_dir = (fs::path(dist_dir) / name).string();
    ASSIGN_OR_RETURN(std::vector<ManifestFile> files, ListBundleFiles(bundle_dir));
    BundleEntry entry;
    entry.files = std::move(files);
    if (auto it = sections.bundle_facts.find(name); it != sections.bundle_facts.end()) {
      entry.facts = it->second;
    }
    d.bundles.emplace(name, std::move(entry));
  }
  for (const auto& [name, facts] : sections.bundle_facts) {
    if (!d.bundles.count(name)) {
      return Status::FailedPrecondition("{}: facts given for bundle \"{}\", which has no directory",
                                        dist_dir, name);
    }
  }
  for (const NodeEntry& n : d.nodes) {
    for (const std::string& b : n.bundles) {
      if (!d.bundles.count(b)) {
        return Status::FailedPrecondition(
            "{}: node \"{}\" needs bundle \"{}\", which has no "
            "directory",
            dist_dir, n.id, b);
      }
    }
  }
  for (auto& [name, entry] : d.bundles) {
    for (ManifestFile& f : entry.files) {
      // Listed sizes are caps: a file still growing while hashed is refused, not half-listed.
      DigestJob job{(fs::path(dist_dir) / name).string(), f.path, f.size, f.size};
      if (auto it = options.known.find(name + "/" + f.path); it != options.known.end()) {
        job.known = &it->second;
      }
      jobs.push_back(std::move(job));
      targets.push_back(&f);
    }
  }
  std::vector<Result<FileDigest>> digests = DigestFiles(jobs, options.threads, options.digest);
  for (size_t i = 0; i < digests.size(); ++i) {
    if (!digests[i].ok()) return digests[i].status();
    if (digests[i]->size != targets[i]->size) {
      return Status::FailedPrecondition(
          "{}/{}: changed size while being hashed ({} then {} "
          "bytes); is something still writing the release?",
          jobs[i].root, jobs[i].relative, targets[i]->size, digests[i]->size);
    }
    targets[i]->sha256 = digests[i]->sha256;
  }

  const std::string manifest_path = (fs::path(dist_dir) / kManifestFileName).string();
  const std::string sig_path = (fs::path(dist_dir) / kSignatureFileName).string();
  const std::string bytes = SerializeDistribution(d);
  // Only a manifest our own strict reader accepts is published (schema, path and name rules).
  RETURN_IF_ERROR(ParseDistribution(bytes, manifest_path + " (about to be written)").status());
  auto existing = ReadManifestFile(manifest_path);
  if (existing.ok() && *existing == bytes) return d;  // same release again: keep its signature
  RETURN_IF_ERROR(WriteFileAtomically(manifest_path, bytes));
  if (::unlink(sig_path.c_str()) != 0 && errno != ENOENT) {
    return Status::IoError("{}: cannot remove the stale signature: {}", sig_path,
                           std::strerror(errno));
  }
  ASSIGN_OR_RETURN(std::string reread, ReadManifestFile(manifest_path));
  if (reread != bytes) {
    return Status::IoError(
        "{}: the published manifest reads back different from what was "
        "written",
        manifest_path);
  }
  return d;
}

}  // namespace moedist
