// Publication of `moedist build` outputs. Every output under OUT is a hard link to a file of a
// committed cache entry (release_build_cache.h), so publishing copies nothing.
// - The release (OUT/dist) is published as one directory: its links are staged beside it and
//   switched in whole (manifest/release_stage.h), so OUT/dist is the old release or the new one
//   at every instant, and before the switch `verify_dist` checks the staged release against the
//   manifest it carries (by digest: a cache file changed in place is caught there, whatever its
//   mtime says). A release already in place (every file the entry's inode, nothing extra) is
//   verified where it is and left alone: a no-change build rewrites nothing.
// - The other outputs (inspect/, profile/, plan/, validate/) are placed file by file with
//   link-to-temporary → rename, and a file that is already the entry's file is left alone.
// Files a previous build published that this one does not are deleted.
// OUT/.moedist-cache/published.json records what is published (the union of old and new while a
// publication is under way), so a killed build's leftovers are found by the next one.
// Thread safety: one publication per OUT (the build lock and the release lock).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace moedist {

struct PublishItem {
  std::string target;  // relative to OUT, '/'-separated
  std::string source;  // a file of a committed cache entry
};

struct PublishOutcome {
  std::vector<std::string> linked;   // targets (re)placed
  std::vector<std::string> removed;  // stale targets deleted
};

// `verify_dist` checks a release directory (the staged one, or OUT/dist when unchanged); its error
// stops the publication with nothing under OUT changed. `tick` runs after each file placed or
// removed (crash-test hook; may be empty).
Result<PublishOutcome> PublishOutputs(const std::string& out_dir, const std::string& cache_root,
                                      std::vector<PublishItem> items,
                                      const std::function<Status(const std::string&)>& verify_dist,
                                      const std::function<void()>& tick);

}  // namespace moedist
