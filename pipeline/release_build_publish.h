// Publication of `moedist build` outputs: every output under OUT (inspect/, profile/, plan/,
// dist/, validate/) is a hard link to a file of a committed cache entry, put in place with
// link-to-temporary → rename, so a reader sees the old file or the new one, never a partial one,
// and a file that is already the entry's file (same device and inode) is left alone: a
// no-change build rewrites nothing. Files a previous build published that this one does not are
// deleted. Release manifests (distribution.json, then its .sig) are published after every other
// file and after the deletions, so a release never names a file that is not yet in place.
// OUT/.moedist-cache/published.json records what is published (the union of old and new while a
// publication is under way), so a killed build's leftovers are found by the next one.
// Thread safety: one publication per OUT (BuildLock).
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

// `tick` runs after each file placed or removed (crash-test hook; may be empty).
Result<PublishOutcome> PublishOutputs(const std::string& out_dir, const std::string& cache_root,
                                      std::vector<PublishItem> items,
                                      const std::function<void()>& tick);

}  // namespace moedist
