// DiffReleases: what changed between two distribution.json files (docs/commands/diff.md):
// release versions; routed experts that moved between groups, per layer (from partition.layers);
// overlay experts added and removed; changed keys of the opaque sections (recipe first);
// files added, removed and changed, by bundle and path, compared by size and SHA-256; and per
// node the bytes it must download: files of its bundles whose digest the old release does not
// have anywhere (content-addressed: a file that only moved costs nothing), and, more
// conservatively, whose digest the node's own old bundles did not have.
// Neither manifest's signature is checked here; run verify first for that.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "manifest/distribution.h"

namespace moedist {

struct ExpertMove {
  uint32_t layer = 0;
  uint32_t expert = 0;
  std::optional<uint32_t> from_group;  // nullopt: in no group before
  std::optional<uint32_t> to_group;    // nullopt: in no group now
};

struct OverlayChange {
  uint32_t layer = 0;
  std::vector<uint32_t> added;
  std::vector<uint32_t> removed;
};

struct JsonChange {
  std::string pointer;  // JSON pointer of the key that changed
  std::string kind;     // "added", "removed", "changed"
  nlohmann::json old_value;
  nlohmann::json new_value;
};

struct FileChange {
  std::string bundle;
  std::string path;
  std::string kind;  // "added", "removed", "changed"
  std::optional<ManifestFile> old_file;
  std::optional<ManifestFile> new_file;
};

struct NodeDownload {
  std::string id;
  bool new_node = false;  // not in the old release
  uint64_t files = 0;     // files of its bundles now
  uint64_t bytes = 0;
  uint64_t download_files = 0;  // digest absent from the whole old release
  uint64_t download_bytes = 0;
  uint64_t download_bytes_own = 0;  // digest absent from this node's old bundles
};

struct ReleaseDiff {
  ReleaseInfo old_release;
  ReleaseInfo new_release;
  std::vector<uint32_t> layers_added;    // in the new partition only
  std::vector<uint32_t> layers_removed;  // in the old partition only
  std::vector<ExpertMove> moved;         // layers present in both
  std::vector<OverlayChange> overlay;    // layers present in both, non-empty changes only
  // Section name ("recipe", "routing", ...) -> its changed keys; only sections that changed.
  std::vector<std::pair<std::string, std::vector<JsonChange>>> sections;
  std::vector<FileChange> files;
  std::vector<std::string> bundles_added;
  std::vector<std::string> bundles_removed;
  std::vector<NodeDownload> nodes;
  std::vector<std::string> nodes_removed;
};

// Changed keys between two JSON values: objects are compared key by key, anything else whole.
std::vector<JsonChange> DiffJson(const nlohmann::json& before, const nlohmann::json& after);

ReleaseDiff DiffReleases(const Distribution& before, const Distribution& after);
nlohmann::json ReleaseDiffToJson(const ReleaseDiff& diff);

// A distribution.json path, or a release directory holding one; parsed strictly.
Result<Distribution> LoadDistribution(const std::string& path_or_dir);

}  // namespace moedist
