// Distribution: the in-memory model of distribution.json, the signed description of one release
// (docs/formats/distribution.md, schemas/distribution.schema.json).
//
// A release directory holds one directory per bundle (trunk/, group-0/, overlay/, node-0/ ...)
// plus distribution.json and its detached signature distribution.json.sig. The manifest names
// every file of every bundle with size and SHA-256, and each node's bundle set, so verify can
// check the exact file set and a node can check exactly what it needs.
//
// Writing is deterministic: sorted object keys, two-space indent, one trailing newline, arrays
// in the order held here (BuildDistribution sorts files by path). Parsing is strict and fails
// closed: size cap before reading, duplicate JSON keys refused, the compiled-in schema enforced,
// then the rules the schema cannot state (release_path.h, created < expires, an expert in at
// most one group per layer, integers written as integers).
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "manifest/json_schema_check.h"

namespace moedist {

inline constexpr std::string_view kManifestFileName = "distribution.json";
inline constexpr std::string_view kSignatureFileName = "distribution.json.sig";
inline constexpr uint64_t kMaxManifestBytes = 16ull << 20;  // reliability row 20
inline constexpr int kDistributionSchemaVersion = 1;

struct ManifestFile {
  std::string path;    // relative to the bundle (or checkpoint) directory, '/'-separated
  uint64_t size = 0;   // bytes
  std::string sha256;  // 64 lower-case hex digits
  bool operator==(const ManifestFile&) const = default;
};

struct ReleaseInfo {
  std::string name;      // release stream, e.g. "qwen3-30b-a3b-4x"
  uint64_t version = 0;  // increases with every release of the stream (>= 1)
  std::string created;   // RFC 3339 UTC, release_time.h
  std::string expires;   // after this instant verify refuses the release
};

struct SourceInfo {
  std::string family;               // moedist family name, e.g. "qwen3_moe"
  std::vector<ManifestFile> files;  // checkpoint files relative to the checkpoint directory
  nlohmann::json facts = nlohmann::json::object();  // repo id, revision, ... (opaque)
};

struct BundleEntry {
  std::vector<ManifestFile> files;
  nlohmann::json facts = nlohmann::json::object();
};

struct NodeEntry {
  std::string id;                                   // e.g. "node-0"
  std::vector<std::string> bundles;                 // names in Distribution::bundles
  nlohmann::json facts = nlohmann::json::object();  // router slice, expert renumbering, ...
};

// Partition as the schema defines it: per MoE layer, each group's routed experts and the overlay.
struct LayerPartition {
  std::vector<std::vector<uint32_t>> groups;
  std::vector<uint32_t> overlay;
};

struct Distribution {
  int schema_version = kDistributionSchemaVersion;
  ReleaseInfo release;
  SourceInfo source;
  // Opaque sections supplied by the callers that own them; stored and signed as given (objects).
  nlohmann::json routing = nlohmann::json::object();
  nlohmann::json calibration = nlohmann::json::object();
  nlohmann::json partition = {{"layers", nlohmann::json::object()}};
  nlohmann::json overlay = nlohmann::json::object();
  nlohmann::json recipe = nlohmann::json::object();
  nlohmann::json validation = nlohmann::json::object();
  // Hotness tiers (docs/tiers.md), written by validate; absent until then, and in releases
  // validated without a gate profile.
  std::optional<nlohmann::json> tiers;
  std::map<std::string, BundleEntry> bundles;  // bundle name -> its files
  std::vector<NodeEntry> nodes;

  const NodeEntry* FindNode(std::string_view id) const;
  // partition.layers decoded, keyed by layer index (the schema guarantees the shape).
  std::map<uint32_t, LayerPartition> PartitionLayers() const;
};

// The compiled-in schemas/distribution.schema.json.
const JsonSchema& DistributionSchema();

nlohmann::json DistributionToJson(const Distribution& d);
// The exact bytes written to distribution.json (and signed).
std::string SerializeDistribution(const Distribution& d);

// Strict parse of manifest bytes; `source` names them in errors. Corruption for anything
// malformed, Unsupported for a newer schema_version.
Result<Distribution> ParseDistribution(std::string_view bytes, std::string_view source);
Result<Distribution> DistributionFromJson(const nlohmann::json& j, std::string_view source);

// Reads a manifest file, refusing one larger than kMaxManifestBytes before reading it.
Result<std::string> ReadManifestFile(const std::string& path);

}  // namespace moedist
