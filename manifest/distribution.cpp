#include "manifest/distribution.h"

#include <cmath>
#include <set>

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "manifest/release_path.h"
#include "manifest/release_time.h"

namespace moedist {

extern const std::string_view kDistributionSchemaText;  // generated from schemas/

using nlohmann::json;

namespace {

json FilesToJson(const std::vector<ManifestFile>& files) {
  json out = json::array();
  for (const ManifestFile& f : files) {
    out.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  }
  return out;
}

// The schema has already checked types; this refuses what it calls an integer but is written as
// a float (1.0), so every size has exactly one spelling.
Result<uint64_t> WholeNumber(const json& v, std::string_view what) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    return Status::Corruption("{} must be written as a non-negative integer, found {}", what,
                              v.dump());
  }
  return v.get<uint64_t>();
}

Result<std::vector<ManifestFile>> FilesFromJson(const json& arr, std::string_view source,
                                                std::string_view what) {
  std::vector<ManifestFile> files;
  std::vector<std::string> paths;
  files.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    const json& f = arr[i];
    ManifestFile m;
    m.path = f.at("path").get<std::string>();
    const std::string where = fmt::format("{}: {} file {}", source, what, i);
    RETURN_IF_ERROR(CheckReleasePath(m.path, where));
    auto size = WholeNumber(f.at("size"), "size");
    if (!size.ok()) return size.status().WithContext(where);
    m.size = *size;
    m.sha256 = f.at("sha256").get<std::string>();
    paths.push_back(m.path);
    files.push_back(std::move(m));
  }
  RETURN_IF_ERROR(CheckNoDuplicates(paths, fmt::format("{}: {} paths", source, what)));
  return files;
}

Status CheckPartition(const json& partition, std::string_view source) {
  for (const auto& [layer, entry] : partition.at("layers").items()) {
    std::set<uint64_t> seen;
    for (const json& group : entry.at("groups")) {
      for (const json& e : group) {
        auto expert_or = WholeNumber(e, fmt::format("partition layer {}: expert index", layer));
        if (!expert_or.ok()) return expert_or.status().WithContext(source);
        const uint64_t expert = *expert_or;
        if (!seen.insert(expert).second) {
          return Status::Corruption("{}: partition layer {}: expert {} is in more than one group",
                                    source, layer, expert);
        }
      }
    }
    for (const json& e : entry.value("overlay", json::array())) {
      auto expert = WholeNumber(e, fmt::format("partition layer {}: overlay expert index", layer));
      if (!expert.ok()) return expert.status().WithContext(source);
    }
  }
  return Status::Ok();
}

}  // namespace

const NodeEntry* Distribution::FindNode(std::string_view id) const {
  for (const NodeEntry& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

std::map<uint32_t, LayerPartition> Distribution::PartitionLayers() const {
  std::map<uint32_t, LayerPartition> out;
  if (!partition.is_object() || !partition.contains("layers")) return out;
  for (const auto& [key, entry] : partition["layers"].items()) {
    LayerPartition lp;
    for (const json& g : entry.value("groups", json::array())) {
      lp.groups.push_back(g.get<std::vector<uint32_t>>());
    }
    lp.overlay = entry.value("overlay", json::array()).get<std::vector<uint32_t>>();
    out[static_cast<uint32_t>(std::stoul(key))] = std::move(lp);
  }
  return out;
}

const JsonSchema& DistributionSchema() {
  // The text is compiled in and tested, so failing here is a build defect, not an input error.
  static const JsonSchema schema = [] {
    auto parsed = ParseJsonStrict(kDistributionSchemaText, "schemas/distribution.schema.json");
    if (!parsed.ok()) {
      fmt::print(stderr, "moedist: internal error: {}\n", parsed.status().message());
      std::abort();
    }
    auto compiled = JsonSchema::Compile(*parsed, "schemas/distribution.schema.json");
    if (!compiled.ok()) {
      fmt::print(stderr, "moedist: internal error: {}\n", compiled.status().message());
      std::abort();
    }
    return std::move(compiled).value();
  }();
  return schema;
}

json DistributionToJson(const Distribution& d) {
  json bundles = json::object();
  for (const auto& [name, b] : d.bundles) {
    json entry = {{"files", FilesToJson(b.files)}};
    if (!b.facts.empty()) entry["facts"] = b.facts;
    bundles[name] = std::move(entry);
  }
  json nodes = json::array();
  for (const NodeEntry& n : d.nodes) {
    json entry = {{"id", n.id}, {"bundles", n.bundles}};
    if (!n.facts.empty()) entry["facts"] = n.facts;
    nodes.push_back(std::move(entry));
  }
  json source = {{"family", d.source.family}, {"files", FilesToJson(d.source.files)}};
  if (!d.source.facts.empty()) source["facts"] = d.source.facts;
  json j = {
      {"schema_version", d.schema_version},
      {"release",
       {{"name", d.release.name},
        {"version", d.release.version},
        {"created", d.release.created},
        {"expires", d.release.expires}}},
      {"source", std::move(source)},
      {"routing", d.routing},
      {"calibration", d.calibration},
      {"partition", d.partition},
      {"overlay", d.overlay},
      {"recipe", d.recipe},
      {"validation", d.validation},
      {"bundles", std::move(bundles)},
      {"nodes", std::move(nodes)},
  };
  // Optional, so a release without tiers keeps the bytes (and signature) it always had.
  if (d.tiers) j["tiers"] = *d.tiers;
  return j;
}

std::string SerializeDistribution(const Distribution& d) {
  return DumpJsonStable(DistributionToJson(d), 2) + "\n";
}

Result<Distribution> DistributionFromJson(const json& j, std::string_view source) {
  // A newer schema gets its own message rather than a list of schema violations.
  if (j.is_object() && j.contains("schema_version") && j["schema_version"].is_number_integer() &&
      j["schema_version"] != kDistributionSchemaVersion) {
    return Status::Unsupported("{}: schema_version {} is not supported (this moedist reads {})",
                               source, j["schema_version"].dump(), kDistributionSchemaVersion);
  }
  RETURN_IF_ERROR(DistributionSchema().Check(j, source));
  if (!j["schema_version"].is_number_integer()) {
    return Status::Corruption("{}: schema_version must be written as an integer", source);
  }

  Distribution d;
  const json& r = j["release"];
  d.release.name = r["name"].get<std::string>();
  auto version = WholeNumber(r["version"], "release.version");
  if (!version.ok()) return version.status().WithContext(source);
  d.release.version = *version;
  d.release.created = r["created"].get<std::string>();
  d.release.expires = r["expires"].get<std::string>();
  auto created = ParseRfc3339Utc(d.release.created, "release.created");
  if (!created.ok()) return created.status().WithContext(source);
  auto expires = ParseRfc3339Utc(d.release.expires, "release.expires");
  if (!expires.ok()) return expires.status().WithContext(source);
  if (*expires <= *created) {
    return Status::Corruption("{}: release.expires {} is not after release.created {}", source,
                              d.release.expires, d.release.created);
  }

  const json& s = j["source"];
  d.source.family = s["family"].get<std::string>();
  ASSIGN_OR_RETURN(d.source.files, FilesFromJson(s["files"], source, "source"));
  d.source.facts = s.value("facts", json::object());

  d.routing = j["routing"];
  d.calibration = j["calibration"];
  d.partition = j["partition"];
  RETURN_IF_ERROR(CheckPartition(d.partition, source));
  d.overlay = j["overlay"];
  d.recipe = j["recipe"];
  d.validation = j["validation"];
  if (j.contains("tiers")) d.tiers = j["tiers"];

  std::vector<std::string> bundle_names;
  for (const auto& [name, b] : j["bundles"].items()) {
    RETURN_IF_ERROR(CheckReleaseName(name, fmt::format("{}: bundle", source)));
    BundleEntry entry;
    ASSIGN_OR_RETURN(entry.files,
                     FilesFromJson(b["files"], source, fmt::format("bundle \"{}\"", name)));
    entry.facts = b.value("facts", json::object());
    d.bundles.emplace(name, std::move(entry));
    bundle_names.push_back(name);
  }
  RETURN_IF_ERROR(CheckNoDuplicates(bundle_names, fmt::format("{}: bundle names", source)));

  std::vector<std::string> node_ids;
  for (const json& n : j["nodes"]) {
    NodeEntry node;
    node.id = n["id"].get<std::string>();
    RETURN_IF_ERROR(CheckReleaseName(node.id, fmt::format("{}: node id", source)));
    node.bundles = n["bundles"].get<std::vector<std::string>>();
    node.facts = n.value("facts", json::object());
    node_ids.push_back(node.id);
    d.nodes.push_back(std::move(node));
  }
  RETURN_IF_ERROR(CheckNoDuplicates(node_ids, fmt::format("{}: node ids", source)));
  return d;
}

Result<Distribution> ParseDistribution(std::string_view bytes, std::string_view source) {
  if (bytes.size() > kMaxManifestBytes) {
    return Status::Corruption("{}: {} bytes, larger than the {} byte limit for a manifest", source,
                              bytes.size(), kMaxManifestBytes);
  }
  ASSIGN_OR_RETURN(json j, ParseJsonStrict(bytes, source));
  return DistributionFromJson(j, source);
}

Result<std::string> ReadManifestFile(const std::string& path) {
  return ReadSmallFile(path, kMaxManifestBytes);
}

}  // namespace moedist
