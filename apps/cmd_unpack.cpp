// moedist unpack FILE --out DIR (--pubkey P... | --unsigned) [--json]: a node archive back into
// a release directory holding the node's bundles, extracting only what the signed manifest
// names (docs/commands/unpack.md).
#include <fmt/format.h>

#include "apps/command_registry.h"
#include "manifest/node_archive.h"

namespace moedist::cli {
namespace {

struct UnpackCliOptions {
  UnpackOptions options;
  std::vector<std::string> pubkeys;
  bool json = false;
};

int RunUnpack(UnpackCliOptions& o) {
  if (o.pubkeys.empty() && !o.options.allow_unsigned) {
    return ReportError("unpack", Status::InvalidArgument("give --pubkey (repeatable) to check the "
                                                         "signature, or --unsigned to skip it"));
  }
  for (const std::string& p : o.pubkeys) {
    auto key = PublicKey::Load(p);
    if (!key.ok()) return ReportError("unpack", key.status());
    o.options.trusted_keys.push_back(std::move(key).value());
  }
  auto report = UnpackNode(o.options);
  if (!report.ok()) return ReportError("unpack", report.status());
  const UnpackReport& r = *report;
  if (o.json) {
    fmt::print("{}\n", UnpackReportToJson(r).dump(2));
    return kExitOk;
  }
  fmt::print("release    {} version {}, node {}\n", r.release_name, r.release_version, r.node);
  fmt::print("signature  {}\n", r.signature_checked ? "ok (ed25519, key id " + r.key_id + ")"
                                                    : std::string("NOT CHECKED (--unsigned)"));
  fmt::print("extracted  {} files, {} bytes ({} restored from byte planes) into {}\n", r.files,
             r.bytes, r.plane_bytes, r.out_dir);
  if (r.reused_files > 0) {
    fmt::print("reused     {} of them ({} bytes) copied from the earlier release, checked\n",
               r.reused_files, r.reused_bytes);
  }
  fmt::print("time       {:.2f} s ({:.1f} MB/s)\n", r.seconds,
             r.seconds > 0 ? r.bytes / r.seconds / 1e6 : 0.0);
  return kExitOk;
}

Registrar registrar(
    {"unpack", 86,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<UnpackCliOptions>();
       sub.add_option("archive", o->options.archive_path, "node archive (.tar.zst)")->required();
       sub.add_option("--out", o->options.out_dir,
                      "directory to create (must not exist, or be empty)")
           ->required();
       sub.add_option("--pubkey", o->pubkeys,
                      "trusted Ed25519 public key (PEM); repeat for several");
       sub.add_flag("--unsigned", o->options.allow_unsigned,
                    "skip the signature check (sizes and digests are still checked)");
       sub.add_option("--reuse", o->options.reuse_dir,
                      "for a delta archive (package --since): the node's earlier release "
                      "directory; files the archive leaves out are copied from there by SHA-256 "
                      "and checked against the new manifest");
       sub.add_flag("--json", o->json, "print the report as JSON");
       return [o] { return RunUnpack(*o); };
     },
     "extract a node archive: only the regular files the signed manifest names, each "
     "checked by size and SHA-256"});

}  // namespace
}  // namespace moedist::cli
