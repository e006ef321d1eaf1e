// moedist diff OLD NEW [--pubkey P | --unsigned] [--json]: what changed between two releases
// (distribution.json paths or release directories). With --pubkey (or --unsigned, digests only)
// both releases are verified first, as `moedist verify` does; without, the diff is of two
// unverified manifests and says so.
#include <fmt/format.h>

#include <filesystem>

#include "apps/command_registry.h"
#include "apps/release_node_flags.h"
#include "core/json_strict.h"
#include "manifest/release_diff.h"

namespace moedist::cli {
namespace {

struct DiffOptions {
  std::string old_path;
  std::string new_path;
  bool json = false;
  ReleaseTrustFlags trust;
};

// The release directory of a diff argument (a directory, or its distribution.json).
std::string ReleaseDir(const std::string& path) {
  namespace fs = std::filesystem;
  return fs::is_directory(path) ? path : fs::path(path).parent_path().string();
}

std::string Group(const std::optional<uint32_t>& g) {
  return g ? fmt::format("group {}", *g) : std::string("none");
}

void PrintText(const ReleaseDiff& d) {
  fmt::print("release    {} version {} -> {} version {}{}\n", d.old_release.name,
             d.old_release.version, d.new_release.name, d.new_release.version,
             d.new_release.version > d.old_release.version ? "" : "  (version does not increase)");
  if (!d.layers_added.empty()) fmt::print("layers     added {}\n", fmt::join(d.layers_added, ","));
  if (!d.layers_removed.empty()) {
    fmt::print("layers     removed {}\n", fmt::join(d.layers_removed, ","));
  }
  std::map<uint32_t, std::vector<const ExpertMove*>> by_layer;
  for (const ExpertMove& m : d.moved) by_layer[m.layer].push_back(&m);
  for (const auto& [layer, moves] : by_layer) {
    fmt::print("layer {:<4} {} experts moved:", layer, moves.size());
    for (const ExpertMove* m : moves) {
      fmt::print(" {} ({} -> {})", m->expert, Group(m->from_group), Group(m->to_group));
    }
    fmt::print("\n");
  }
  for (const OverlayChange& o : d.overlay) {
    fmt::print("layer {:<4} overlay +[{}] -[{}]\n", o.layer, fmt::join(o.added, ","),
               fmt::join(o.removed, ","));
  }
  for (const auto& [section, changes] : d.sections) {
    for (const JsonChange& c : changes) {
      fmt::print("{:<10} {} {}: {} -> {}\n", section, c.kind, c.pointer.empty() ? "/" : c.pointer,
                 c.old_value.dump(), c.new_value.dump());
    }
  }
  for (const std::string& b : d.bundles_added) fmt::print("bundle     added {}\n", b);
  for (const std::string& b : d.bundles_removed) fmt::print("bundle     removed {}\n", b);
  for (const FileChange& f : d.files) {
    fmt::print("file       {:<8} {}/{}{}\n", f.kind, f.bundle, f.path,
               f.new_file ? fmt::format(" ({} bytes)", f.new_file->size) : "");
  }
  for (const std::string& n : d.nodes_removed) fmt::print("node       removed {}\n", n);
  fmt::print("\n{:<16} {:>8} {:>16} {:>10} {:>16} {:>16}\n", "node", "files", "bytes", "download",
             "download bytes", "vs own bundles");
  for (const NodeDownload& n : d.nodes) {
    fmt::print("{:<16} {:>8} {:>16} {:>10} {:>16} {:>16}{}\n", n.id, n.files, n.bytes,
               n.download_files, n.download_bytes, n.download_bytes_own,
               n.new_node ? "  (new node)" : "");
  }
}

int RunDiff(const DiffOptions& o) {
  auto before = LoadDistribution(o.old_path);
  if (!before.ok()) return ReportError("diff", before.status());
  auto after = LoadDistribution(o.new_path);
  if (!after.ok()) return ReportError("diff", after.status());
  std::string verified_old = "none", verified_new = "none";
  if (o.trust.any()) {
    auto trust = o.trust.Options();
    if (!trust.ok()) return ReportError("diff", trust.status());
    auto old_trust = CheckRelease(ReleaseDir(o.old_path), *trust, std::nullopt, {});
    if (!old_trust.ok()) return ReportError("diff", old_trust.status());
    auto new_trust = CheckRelease(ReleaseDir(o.new_path), *trust, std::nullopt, {});
    if (!new_trust.ok()) return ReportError("diff", new_trust.status());
    verified_old = std::string(ReleaseTrustKey(*old_trust));
    verified_new = std::string(ReleaseTrustKey(*new_trust));
  } else {
    fmt::print(stderr,
               "diff: note: neither release was verified (give --pubkey KEY to check signatures "
               "and files, or --unsigned for files only)\n");
  }
  const ReleaseDiff d = DiffReleases(*before, *after);
  if (o.json) {
    nlohmann::json j = ReleaseDiffToJson(d);
    j["verified"] = {{"old", verified_old}, {"new", verified_new}};
    fmt::print("{}\n", DumpJsonStable(j));
  } else {
    PrintText(d);
    fmt::print("verified   old: {}, new: {}\n", verified_old, verified_new);
  }
  return kExitOk;
}

Registrar registrar({"diff", 90,
                     [](CLI::App& sub) -> std::function<int()> {
                       auto o = std::make_shared<DiffOptions>();
                       sub.add_option("old", o->old_path,
                                      "old release: distribution.json or its directory")
                           ->required();
                       sub.add_option("new", o->new_path,
                                      "new release: distribution.json or its directory")
                           ->required();
                       sub.add_flag("--json", o->json, "print JSON");
                       o->trust.Add(sub, /*allow_no_verify=*/false);
                       return [o] { return RunDiff(*o); };
                     },
                     "compare two releases: experts moved, overlay, recipe, files, bytes each "
                     "node must download"});

}  // namespace
}  // namespace moedist::cli
