// Lists what is actually on disk under a bundle directory, without following symbolic links, so
// verify can compare the exact file set with the manifest and BuildDistribution can describe
// it. Paths are relative to the listed directory, '/'-separated, sorted byte-wise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace moedist {

inline constexpr size_t kMaxTreeEntries = 1'000'000;  // bounds memory on hostile directories

struct TreeEntry {
  enum Kind { kFile, kDirectory, kSymlink, kOther };
  std::string path;
  Kind kind = kFile;
  uint64_t size = 0;  // regular files only
};

const char* TreeEntryKindName(TreeEntry::Kind kind);

// Every entry below `dir` (not `dir` itself). NotFound if `dir` is absent; Corruption if it is a
// symlink or not a directory, or holds more than `max_entries` entries.
Result<std::vector<TreeEntry>> ListTree(const std::string& dir,
                                        size_t max_entries = kMaxTreeEntries);

}  // namespace moedist
