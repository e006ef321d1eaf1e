// StepCache: the content-addressed cache of `moedist build` under OUT/.moedist-cache.
//
// A step's key is the SHA-256 of a canonical JSON document holding the step name, the tool
// version, the step's parameters and the SHA-256 of every file it reads (external inputs and
// the outputs of the steps it depends on), so equal keys mean equal inputs; a step whose key has
// an entry is not run again. An entry is the directory <root>/<key>/ with the step's outputs
// under out/ and entry.json listing them (path, size, SHA-256, mtime). A step writes into
// <root>/tmp.<key>/ and the finished directory is renamed to <key> (then the root is
// fsynced): the rename is the commit, so a killed step leaves only a tmp.* directory, which the
// next build (holding the lock) removes. Files of equal content are one inode
// (objects/<sha256>, hard-linked into every entry holding them), so an output a re-run step
// writes again byte for byte is not republished. Committed files are made read-only; Find() refuses
// an entry whose files are missing or changed size or mtime since the commit (published outputs are
// hard links to these files, so an in-place edit of a published file is caught here). That check
// is by stamp; what is published as the release is checked again by digest before publication
// (release_build_publish.h), and a damaged entry is Remove()d and its step run again.
// Thread safety: one build per cache, enforced by BuildLock.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace moedist {

struct CachedFile {
  std::string path;  // relative to the entry's out/ directory
  uint64_t size = 0;
  std::string sha256;
  int64_t mtime_ns = 0;
};

struct CacheEntry {
  std::string key;
  std::string out_dir;  // absolute or relative path of the entry's out/ directory
  std::vector<CachedFile> files;
};

// The key document's digest. `inputs` maps a label ("checkpoint/config.json",
// "profile:profile.json") to the SHA-256 of that file.
Result<std::string> StepCacheKey(const std::string& step, const std::string& tool_version,
                                 const nlohmann::json& params,
                                 const std::map<std::string, std::string>& inputs);

class StepCache {
 public:
  explicit StepCache(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  // The committed entry for `key`, or nullopt when there is none or it is damaged.
  std::optional<CacheEntry> Find(const std::string& key) const;
  // Removes tmp.* directories left by a killed build and any damaged entry for `key`, then
  // creates an empty work directory and returns its out/ path.
  Result<std::string> BeginWork(const std::string& key);
  // Hashes what the step wrote, writes entry.json and publishes the entry by renaming.
  Result<CacheEntry> Commit(const std::string& key, int threads);
  // Deletes the work directory of `key` (a step that failed).
  void AbandonWork(const std::string& key) const;
  // Deletes the committed entry of `key` (found damaged); its objects go at the next Prune.
  Status Remove(const std::string& key) const;
  // Deletes tmp.* directories (call while holding the build lock).
  Status RemoveStaleWork() const;
  // Deletes committed entries whose key is not in `keep`, then objects no entry holds; returns
  // how many entries.
  Result<size_t> Prune(const std::vector<std::string>& keep) const;

 private:
  std::string WorkDir(const std::string& key) const;
  std::string root_;
};

}  // namespace moedist
