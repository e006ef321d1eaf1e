#include "manifest/archive_index.h"

#include <set>

#include "core/json_strict.h"

namespace moedist {
namespace {

using nlohmann::json;

Status CheckKeys(const json& j, const std::set<std::string>& keys, std::string_view source,
                 std::string_view where) {
  if (!j.is_object()) return Status::Corruption("{}: {} must be an object", source, where);
  for (const auto& [key, value] : j.items()) {
    if (!keys.count(key)) return Status::Corruption("{}: unknown field {}.{}", source, where, key);
  }
  for (const std::string& key : keys) {
    if (!j.contains(key)) return Status::Corruption("{}: missing field {}.{}", source, where, key);
  }
  return Status::Ok();
}

Result<uint64_t> Unsigned(const json& j, std::string_view source, std::string_view field) {
  if (!j.is_number_unsigned()) {
    return Status::Corruption("{}: {} must be a non-negative integer, found {}", source, field,
                              j.dump());
  }
  return j.get<uint64_t>();
}

Result<std::string> String(const json& j, std::string_view source, std::string_view field) {
  if (!j.is_string()) return Status::Corruption("{}: {} must be a string", source, field);
  return j.get<std::string>();
}

Result<std::vector<PlaneRange>> ParseRanges(const json& j, std::string_view source,
                                            const std::string& path) {
  const std::string field = "byte_planes[\"" + path + "\"]";
  if (!j.is_array()) return Status::Corruption("{}: {} must be an array", source, field);
  if (j.size() > kMaxPlaneRangesPerFile) {
    return Status::Corruption("{}: {} lists {} ranges; at most {} are allowed", source, field,
                              j.size(), kMaxPlaneRangesPerFile);
  }
  std::vector<PlaneRange> ranges;
  ranges.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const json& pair = j[i];
    if (!pair.is_array() || pair.size() != 2) {
      return Status::Corruption("{}: {}[{}] must be [offset, length]", source, field, i);
    }
    ASSIGN_OR_RETURN(const uint64_t offset, Unsigned(pair[0], source, field));
    ASSIGN_OR_RETURN(const uint64_t length, Unsigned(pair[1], source, field));
    ranges.push_back({offset, length});
  }
  return ranges;
}

}  // namespace

std::string SerializeArchiveIndex(const ArchiveIndex& index) {
  json planes = json::object();
  for (const auto& [path, ranges] : index.byte_planes) {
    json list = json::array();
    for (const PlaneRange& r : ranges) list.push_back({r.offset, r.length});
    planes[path] = std::move(list);
  }
  json j = {
      {"format", kArchiveFormatName},
      {"format_version", index.reused.empty() ? kArchiveFormatVersion : kDeltaArchiveFormatVersion},
      {"node", index.node},
      {"release", {{"name", index.release_name}, {"version", index.release_version}}},
      {"manifest_sha256", index.manifest_sha256},
      {"plane_chunk_bytes", index.plane_chunk_bytes},
      {"byte_planes", std::move(planes)}};
  if (!index.reused.empty()) j["reused"] = index.reused;
  return DumpJsonStable(j) + "\n";
}

Result<ArchiveIndex> ParseArchiveIndex(std::string_view bytes, std::string_view source) {
  if (bytes.size() > kMaxArchiveIndexBytes) {
    return Status::Corruption("{}: {} bytes; at most {} are allowed", source, bytes.size(),
                              kMaxArchiveIndexBytes);
  }
  ASSIGN_OR_RETURN(const json j, ParseJsonStrict(bytes, source));
  if (!j.is_object()) return Status::Corruption("{}: index must be an object", source);
  if (!j.contains("format") || !j.contains("format_version")) {
    return Status::Corruption("{}: missing field index.{}", source,
                              j.contains("format") ? "format_version" : "format");
  }
  ASSIGN_OR_RETURN(const std::string format, String(j["format"], source, "format"));
  ASSIGN_OR_RETURN(const uint64_t version, Unsigned(j["format_version"], source, "format_version"));
  if (format != kArchiveFormatName ||
      (version != kArchiveFormatVersion && version != kDeltaArchiveFormatVersion)) {
    return Status::Unsupported(
        "{}: format \"{}\" version {}; this moedist reads \"{}\" versions {} and {}", source,
        format, version, kArchiveFormatName, kArchiveFormatVersion, kDeltaArchiveFormatVersion);
  }
  std::set<std::string> keys = {"format",          "format_version",    "node",       "release",
                                "manifest_sha256", "plane_chunk_bytes", "byte_planes"};
  if (version == kDeltaArchiveFormatVersion) keys.insert("reused");
  RETURN_IF_ERROR(CheckKeys(j, keys, source, "index"));
  ArchiveIndex index;
  if (version == kDeltaArchiveFormatVersion) {
    const json& reused = j["reused"];
    if (!reused.is_array() || reused.empty()) {
      return Status::Corruption("{}: reused must be a non-empty array of member paths", source);
    }
    for (size_t i = 0; i < reused.size(); ++i) {
      ASSIGN_OR_RETURN(std::string path,
                       String(reused[i], source, "reused[" + std::to_string(i) + "]"));
      if (!index.reused.empty() && path <= index.reused.back()) {
        return Status::Corruption("{}: reused[{}] is not after reused[{}] (sorted, unique)", source,
                                  i, i - 1);
      }
      index.reused.push_back(std::move(path));
    }
  }
  ASSIGN_OR_RETURN(index.node, String(j["node"], source, "node"));
  RETURN_IF_ERROR(CheckKeys(j["release"], {"name", "version"}, source, "release"));
  ASSIGN_OR_RETURN(index.release_name, String(j["release"]["name"], source, "release.name"));
  ASSIGN_OR_RETURN(index.release_version,
                   Unsigned(j["release"]["version"], source, "release.version"));
  ASSIGN_OR_RETURN(index.manifest_sha256, String(j["manifest_sha256"], source, "manifest_sha256"));
  ASSIGN_OR_RETURN(index.plane_chunk_bytes,
                   Unsigned(j["plane_chunk_bytes"], source, "plane_chunk_bytes"));
  if (index.plane_chunk_bytes != kPlaneChunkBytes) {
    return Status::Unsupported("{}: plane_chunk_bytes {}; this moedist uses {}", source,
                               index.plane_chunk_bytes, kPlaneChunkBytes);
  }
  if (!j["byte_planes"].is_object()) {
    return Status::Corruption("{}: byte_planes must be an object", source);
  }
  for (const auto& [path, ranges] : j["byte_planes"].items()) {
    ASSIGN_OR_RETURN(index.byte_planes[path], ParseRanges(ranges, source, path));
  }
  return index;
}

}  // namespace moedist
