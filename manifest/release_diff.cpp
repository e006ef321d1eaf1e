#include "manifest/release_diff.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_set>

namespace moedist {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string PointerToken(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

void DiffJsonAt(const json& a, const json& b, const std::string& at, std::vector<JsonChange>* out) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      const std::string p = at + "/" + PointerToken(k);
      if (!b.contains(k)) {
        out->push_back({p, "removed", v, nullptr});
      } else {
        DiffJsonAt(v, b[k], p, out);
      }
    }
    for (const auto& [k, v] : b.items()) {
      if (!a.contains(k)) out->push_back({at + "/" + PointerToken(k), "added", nullptr, v});
    }
    return;
  }
  // Whole-value comparison; also distinguishes 1 from 1.0 so the diff agrees with the bytes.
  if (a != b || a.type() != b.type()) out->push_back({at, "changed", a, b});
}

// expert -> group index, per layer.
std::map<uint32_t, uint32_t> GroupOf(const LayerPartition& lp) {
  std::map<uint32_t, uint32_t> out;
  for (size_t g = 0; g < lp.groups.size(); ++g) {
    for (uint32_t e : lp.groups[g]) out[e] = static_cast<uint32_t>(g);
  }
  return out;
}

void DiffPartition(const Distribution& a, const Distribution& b, ReleaseDiff* d) {
  const auto la = a.PartitionLayers();
  const auto lb = b.PartitionLayers();
  for (const auto& [layer, p] : lb) {
    if (!la.count(layer)) d->layers_added.push_back(layer);
  }
  for (const auto& [layer, pa] : la) {
    auto it = lb.find(layer);
    if (it == lb.end()) {
      d->layers_removed.push_back(layer);
      continue;
    }
    const auto ga = GroupOf(pa);
    const auto gb = GroupOf(it->second);
    std::set<uint32_t> experts;
    for (const auto& [e, g] : ga) experts.insert(e);
    for (const auto& [e, g] : gb) experts.insert(e);
    for (uint32_t e : experts) {
      auto x = ga.find(e);
      auto y = gb.find(e);
      std::optional<uint32_t> from, to;
      if (x != ga.end()) from = x->second;
      if (y != gb.end()) to = y->second;
      if (from != to) d->moved.push_back({layer, e, from, to});
    }
    std::set<uint32_t> oa(pa.overlay.begin(), pa.overlay.end());
    std::set<uint32_t> ob(it->second.overlay.begin(), it->second.overlay.end());
    OverlayChange oc{layer, {}, {}};
    std::set_difference(ob.begin(), ob.end(), oa.begin(), oa.end(), std::back_inserter(oc.added));
    std::set_difference(oa.begin(), oa.end(), ob.begin(), ob.end(), std::back_inserter(oc.removed));
    if (!oc.added.empty() || !oc.removed.empty()) d->overlay.push_back(std::move(oc));
  }
}

void DiffFiles(const Distribution& a, const Distribution& b, ReleaseDiff* d) {
  for (const auto& [name, eb] : b.bundles) {
    if (!a.bundles.count(name)) d->bundles_added.push_back(name);
  }
  for (const auto& [name, ea] : a.bundles) {
    if (!b.bundles.count(name)) d->bundles_removed.push_back(name);
  }
  std::map<std::pair<std::string, std::string>, const ManifestFile*> old_files, new_files;
  for (const auto& [name, e] : a.bundles) {
    for (const ManifestFile& f : e.files) old_files[{name, f.path}] = &f;
  }
  for (const auto& [name, e] : b.bundles) {
    for (const ManifestFile& f : e.files) new_files[{name, f.path}] = &f;
  }
  for (const auto& [key, f] : new_files) {
    auto it = old_files.find(key);
    if (it == old_files.end()) {
      d->files.push_back({key.first, key.second, "added", std::nullopt, *f});
    } else if (!(*it->second == *f)) {
      d->files.push_back({key.first, key.second, "changed", *it->second, *f});
    }
  }
  for (const auto& [key, f] : old_files) {
    if (!new_files.count(key))
      d->files.push_back({key.first, key.second, "removed", *f, std::nullopt});
  }
  std::sort(d->files.begin(), d->files.end(), [](const FileChange& x, const FileChange& y) {
    return std::tie(x.bundle, x.path) < std::tie(y.bundle, y.path);
  });
}

std::unordered_set<std::string> DigestsOf(const Distribution& d, const NodeEntry* only) {
  std::unordered_set<std::string> out;
  for (const auto& [name, e] : d.bundles) {
    if (only &&
        std::find(only->bundles.begin(), only->bundles.end(), name) == only->bundles.end()) {
      continue;
    }
    for (const ManifestFile& f : e.files) out.insert(f.sha256);
  }
  return out;
}

void DiffNodes(const Distribution& a, const Distribution& b, ReleaseDiff* d) {
  const auto old_all = DigestsOf(a, nullptr);
  for (const NodeEntry& n : b.nodes) {
    const NodeEntry* old_node = a.FindNode(n.id);
    const auto old_own = old_node ? DigestsOf(a, old_node) : std::unordered_set<std::string>{};
    NodeDownload dl;
    dl.id = n.id;
    dl.new_node = old_node == nullptr;
    // A digest shared by several of the node's files is downloaded once.
    std::set<std::string> counted_all, counted_own;
    for (const std::string& bundle : n.bundles) {
      auto it = b.bundles.find(bundle);
      if (it == b.bundles.end()) continue;  // verify reports this
      for (const ManifestFile& f : it->second.files) {
        ++dl.files;
        dl.bytes += f.size;
        if (!old_all.count(f.sha256) && counted_all.insert(f.sha256).second) {
          ++dl.download_files;
          dl.download_bytes += f.size;
        }
        if (!old_own.count(f.sha256) && counted_own.insert(f.sha256).second) {
          dl.download_bytes_own += f.size;
        }
      }
    }
    d->nodes.push_back(std::move(dl));
  }
  for (const NodeEntry& n : a.nodes) {
    if (!b.FindNode(n.id)) d->nodes_removed.push_back(n.id);
  }
}

json FileJson(const std::optional<ManifestFile>& f) {
  if (!f) return nullptr;
  return {{"size", f->size}, {"sha256", f->sha256}};
}

json OptGroup(const std::optional<uint32_t>& g) {
  return g ? json(*g) : json(nullptr);
}

}  // namespace

std::vector<JsonChange> DiffJson(const json& before, const json& after) {
  std::vector<JsonChange> out;
  DiffJsonAt(before, after, "", &out);
  return out;
}

ReleaseDiff DiffReleases(const Distribution& a, const Distribution& b) {
  ReleaseDiff d;
  d.old_release = a.release;
  d.new_release = b.release;
  DiffPartition(a, b, &d);
  const std::pair<const char*, const json Distribution::*> sections[] = {
      {"recipe", &Distribution::recipe},           {"routing", &Distribution::routing},
      {"calibration", &Distribution::calibration}, {"partition", &Distribution::partition},
      {"overlay", &Distribution::overlay},         {"validation", &Distribution::validation},
  };
  for (const auto& [name, member] : sections) {
    std::vector<JsonChange> changes = DiffJson(a.*member, b.*member);
    if (!changes.empty()) d.sections.emplace_back(name, std::move(changes));
  }
  std::vector<JsonChange> source =
      DiffJson(DistributionToJson(a)["source"], DistributionToJson(b)["source"]);
  if (!source.empty()) d.sections.emplace_back("source", std::move(source));
  DiffFiles(a, b, &d);
  DiffNodes(a, b, &d);
  return d;
}

json ReleaseDiffToJson(const ReleaseDiff& d) {
  auto release = [](const ReleaseInfo& r) {
    return json{
        {"name", r.name}, {"version", r.version}, {"created", r.created}, {"expires", r.expires}};
  };
  json moved = json::array();
  for (const ExpertMove& m : d.moved) {
    moved.push_back({{"layer", m.layer},
                     {"expert", m.expert},
                     {"from_group", OptGroup(m.from_group)},
                     {"to_group", OptGroup(m.to_group)}});
  }
  json overlay = json::array();
  for (const OverlayChange& o : d.overlay) {
    overlay.push_back({{"layer", o.layer}, {"added", o.added}, {"removed", o.removed}});
  }
  json sections = json::object();
  for (const auto& [name, changes] : d.sections) {
    json list = json::array();
    for (const JsonChange& c : changes) {
      list.push_back(
          {{"key", c.pointer}, {"kind", c.kind}, {"old", c.old_value}, {"new", c.new_value}});
    }
    sections[name] = std::move(list);
  }
  json files = json::array();
  for (const FileChange& f : d.files) {
    files.push_back({{"bundle", f.bundle},
                     {"path", f.path},
                     {"kind", f.kind},
                     {"old", FileJson(f.old_file)},
                     {"new", FileJson(f.new_file)}});
  }
  json nodes = json::array();
  for (const NodeDownload& n : d.nodes) {
    nodes.push_back({{"id", n.id},
                     {"new_node", n.new_node},
                     {"files", n.files},
                     {"bytes", n.bytes},
                     {"download_files", n.download_files},
                     {"download_bytes", n.download_bytes},
                     {"download_bytes_own_bundles", n.download_bytes_own}});
  }
  return {{"old_release", release(d.old_release)},
          {"new_release", release(d.new_release)},
          {"version_increases", d.new_release.version > d.old_release.version},
          {"partition",
           {{"layers_added", d.layers_added},
            {"layers_removed", d.layers_removed},
            {"experts_moved", moved},
            {"overlay_changes", overlay}}},
          {"sections_changed", sections},
          {"bundles_added", d.bundles_added},
          {"bundles_removed", d.bundles_removed},
          {"files", files},
          {"nodes", nodes},
          {"nodes_removed", d.nodes_removed}};
}

Result<Distribution> LoadDistribution(const std::string& path_or_dir) {
  std::error_code ec;
  std::string path = path_or_dir;
  if (fs::is_directory(path_or_dir, ec))
    path = (fs::path(path_or_dir) / kManifestFileName).string();
  ASSIGN_OR_RETURN(std::string bytes, ReadManifestFile(path));
  return ParseDistribution(bytes, path);
}

}  // namespace moedist
