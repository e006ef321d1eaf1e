// moedist verify DIST (--pubkey P... | --unsigned) [--node K] [--last-accepted FILE]
//                [--now RFC3339] [-j N] [--json]: check a release against its signed manifest.
#include <fmt/format.h>

#include "apps/command_registry.h"
#include "manifest/release_time.h"
#include "manifest/release_verify.h"

namespace moedist::cli {
namespace {

struct VerifyCliOptions {
  std::string dist;
  std::vector<std::string> pubkeys;
  bool unsigned_ok = false;
  std::string node;
  std::string last_accepted;
  std::string now;
  int threads = 0;
  bool json = false;
};

void PrintText(const VerifyReport& r, bool unsigned_ok) {
  if (r.release) {
    fmt::print("release    {} version {} (created {}, expires {})\n", r.release->name,
               r.release->version, r.release->created, r.release->expires);
  }
  if (r.signature_checked) {
    fmt::print("signature  ok (ed25519, key id {})\n", r.key_id);
  } else if (unsigned_ok && r.release) {
    fmt::print("signature  NOT CHECKED (--unsigned)\n");
  }
  if (r.release) {
    fmt::print("checked    {} bundles, {} files, {} bytes\n", r.bundles_checked.size(),
               r.files_checked, r.bytes_checked);
  }
  for (const NodeVerdict& n : r.nodes) {
    fmt::print("node       {:<16} {}\n", n.id,
               n.ok ? "ok" : fmt::format("FAILED ({})", fmt::join(n.bad_bundles, ", ")));
  }
  for (const VerifyProblem& p : r.problems) {
    fmt::print("problem    [{}] {}\n", VerifyCheckName(p.check), p.message);
  }
  if (r.ok()) {
    fmt::print(
        "verify: OK{}{}\n", r.nothing_new ? " (nothing new: already the accepted release)" : "",
        r.recorded ? fmt::format(" (recorded version {} as accepted)", r.release->version) : "");
  }
}

int RunVerify(const VerifyCliOptions& o) {
  if (o.pubkeys.empty() && !o.unsigned_ok) {
    return ReportError("verify", Status::InvalidArgument("give --pubkey (repeatable) to check the "
                                                         "signature, or --unsigned to skip it"));
  }
  VerifyOptions options;
  options.dist_dir = o.dist;
  options.allow_unsigned = o.unsigned_ok;
  options.threads = o.threads;
  for (const std::string& p : o.pubkeys) {
    auto key = PublicKey::Load(p);
    if (!key.ok()) return ReportError("verify", key.status());
    options.trusted_keys.push_back(std::move(key).value());
  }
  if (!o.node.empty()) options.node = o.node;
  if (!o.last_accepted.empty()) options.last_accepted_path = o.last_accepted;
  if (!o.now.empty()) {
    auto now = ParseRfc3339Utc(o.now, "--now");
    if (!now.ok())
      return ReportError("verify", Status(StatusCode::kInvalidArgument, now.status().message()));
    options.now = *now;
  }
  const VerifyReport report = VerifyRelease(options);
  if (o.json) {
    // Names found on disk may not be UTF-8; never let the report itself fail to print.
    fmt::print("{}\n", VerifyReportToJson(report).dump(2, ' ', false,
                                                       nlohmann::json::error_handler_t::replace));
  } else {
    PrintText(report, o.unsigned_ok);
  }
  const int rc = report.ExitCode();
  if (rc != kExitOk) {
    fmt::print(stderr, "moedist verify: error: {}: {} problem{} (exit {})\n", o.dist,
               report.problems.size(), report.problems.size() == 1 ? "" : "s", rc);
  }
  return rc;
}

Registrar registrar({"verify", 80,
                     [](CLI::App& sub) -> std::function<int()> {
                       auto o = std::make_shared<VerifyCliOptions>();
                       sub.add_option("dist", o->dist, "release directory")->required();
                       sub.add_option("--pubkey", o->pubkeys,
                                      "trusted Ed25519 public key (PEM); repeat for several");
                       sub.add_flag("--unsigned", o->unsigned_ok,
                                    "skip the signature check (a release not signed yet)");
                       sub.add_option("--node", o->node, "verify only this node's bundles");
                       sub.add_option("--last-accepted", o->last_accepted,
                                      "file remembering the last accepted release; refuses "
                                      "rollback and records the new version on success");
                       sub.add_option("--now", o->now,
                                      "current time for the expiry check (RFC 3339 UTC; tests)");
                       sub.add_option("-j,--jobs", o->threads,
                                      "threads hashing files (default: one per CPU)")
                           ->check(CLI::Range(1, 1024));
                       sub.add_flag("--json", o->json, "print the report as JSON");
                       return [o] { return RunVerify(*o); };
                     },
                     "check a release: signature, schema, expiry, rollback, every file's size "
                     "and SHA-256, node completeness"});

}  // namespace
}  // namespace moedist::cli
