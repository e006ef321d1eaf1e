// moedist package DIST --node K [-o FILE] [--pubkey P...] [--level L] [-j N]
//                 [--planes auto|never|always] [--json]: one node's part of a signed release as
//                 a .tar.zst (docs/commands/package.md, docs/formats/archive.md).
#include <fmt/format.h>

#include <map>

#include "apps/command_registry.h"
#include "manifest/node_archive.h"

namespace moedist::cli {
namespace {

struct PackageCliOptions {
  PackageOptions options;
  std::vector<std::string> pubkeys;
  std::string planes = "auto";
  bool json = false;
};

void PrintText(const PackageReport& r) {
  fmt::print("release    {} version {}, node {}\n", r.release_name, r.release_version, r.node);
  if (r.signature_checked) fmt::print("signature  ok\n");
  fmt::print("files      {} ({} bytes)\n", r.files, r.file_bytes);
  if (r.reused_files > 0) {
    fmt::print(
        "reused     {} files ({} bytes) left out: unchanged since --since (unpack --reuse)\n",
        r.reused_files, r.reused_bytes);
  }
  fmt::print("planes     {} of {} BF16/F16 tensors split ({} bytes in {} files)", r.plane_ranges,
             r.plane_candidates, r.plane_bytes, r.plane_files);
  if (r.sample_raw_compressed > 0) {
    fmt::print("; sampled: {} raw vs {} split compressed bytes", r.sample_raw_compressed,
               r.sample_split_compressed);
  }
  fmt::print("\narchive    {} ({} bytes, ratio {:.3f}, sha256 {})\n", r.archive_path,
             r.archive_bytes,
             r.archive_bytes ? static_cast<double>(r.file_bytes) / r.archive_bytes : 0.0,
             r.archive_sha256);
  fmt::print("time       {:.2f} s ({:.1f} MB/s)\n", r.seconds,
             r.seconds > 0 ? r.file_bytes / r.seconds / 1e6 : 0.0);
}

int RunPackage(PackageCliOptions& o) {
  static const std::map<std::string, PlaneChoiceOptions::Mode> kModes = {
      {"auto", PlaneChoiceOptions::kAuto},
      {"never", PlaneChoiceOptions::kNever},
      {"always", PlaneChoiceOptions::kAlways}};
  o.options.planes = kModes.at(o.planes);
  for (const std::string& p : o.pubkeys) {
    auto key = PublicKey::Load(p);
    if (!key.ok()) return ReportError("package", key.status());
    o.options.trusted_keys.push_back(std::move(key).value());
  }
  auto report = PackageNode(o.options);
  if (!report.ok()) return ReportError("package", report.status());
  if (o.json) {
    fmt::print("{}\n", PackageReportToJson(*report).dump(2));
  } else {
    PrintText(*report);
  }
  return kExitOk;
}

Registrar registrar(
    {"package", 84,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<PackageCliOptions>();
       sub.add_option("dist", o->options.dist_dir, "signed release directory")->required();
       sub.add_option("--node", o->options.node, "node whose bundles to package")->required();
       sub.add_option("-o,--out", o->options.out_path,
                      "archive to write (default: <release>-v<version>-<node>.tar.zst)");
       sub.add_option("--pubkey", o->pubkeys,
                      "check the signature with this Ed25519 public key first (repeatable)");
       sub.add_option("--level", o->options.level, "zstd level (default 3)")
           ->check(CLI::Range(1, 19));
       sub.add_option("-j,--threads", o->options.threads, "zstd worker threads (default 1)")
           ->check(CLI::Range(1, 256));
       sub.add_option("--planes", o->planes,
                      "BF16/F16 byte planes: auto (where a measured sample compresses better), "
                      "never, always (default auto)")
           ->check(CLI::IsMember({"auto", "never", "always"}));
       sub.add_option("--since", o->options.since,
                      "a delta archive: the release the node runs now (its distribution.json "
                      "or directory); files the node had there, by SHA-256, are left out and "
                      "unpack --reuse takes them from the installed release");
       sub.add_flag("--json", o->json, "print the report as JSON");
       return [o] { return RunPackage(*o); };
     },
     "write one node's bundles, distribution.json and its signature as a .tar.zst"});

}  // namespace
}  // namespace moedist::cli
