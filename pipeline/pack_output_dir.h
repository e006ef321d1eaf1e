// The release directory `pack` writes into (reliability rows 30-34).
//
// ReleaseDirLock holds an exclusive flock on the directory itself for the whole pack, so a
// second pack into the same directory fails at once instead of interleaving files (row 34); no
// lock file is created, so the directory holds only what the manifest lists.
// CheckReleaseDirContents refuses a directory holding anything pack would not have written
// (another tool's files are never overwritten or deleted), RemoveStaleTemporaries (manifest/)
// removes what a killed pack left, and RemoveStaleEntries deletes files of an earlier release
// that this one no longer has, before distribution.json is published.
// Thread safety: one pack per directory, by construction.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace moedist {

class ReleaseDirLock {
 public:
  // Creates `dist` (and its parents) if missing, then locks it without waiting.
  static Result<ReleaseDirLock> Acquire(const std::string& dist);
  ReleaseDirLock(ReleaseDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ReleaseDirLock& operator=(ReleaseDirLock&&) = delete;
  ReleaseDirLock(const ReleaseDirLock&) = delete;
  ~ReleaseDirLock();

 private:
  explicit ReleaseDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// True for the bundle directory names pack writes: trunk, overlay, group-<k>, node-<g>.
bool IsPackBundleName(const std::string& name);
// True for the file names pack writes inside a bundle directory.
bool IsPackBundleFileName(const std::string& name);

// Refuses, naming it, any entry of `dist` that pack does not write: other top-level files,
// directories with other names, subdirectories or links inside bundles, unknown file names.
Status CheckReleaseDirContents(const std::string& dist);

// Deletes every bundle file and bundle directory of `dist` not in `keep` (paths relative to
// `dist`, "trunk/model-00001-of-00002.safetensors"), and returns what it deleted.
Result<std::vector<std::string>> RemoveStaleEntries(const std::string& dist,
                                                    const std::set<std::string>& keep);

}  // namespace moedist
