// moedist validate DIST --eval FILE --checkpoint CKPT (--pubkey P... | --unsigned | --key K)
//                  [--node K] [--report-dir D] [--profile P] [--tier-bytes B] [thresholds]
//                  [--json]:
// every node of a release end to end (docs/commands/validate.md).
#include <fmt/format.h>

#include "apps/command_registry.h"
#include "core/byte_size.h"
#include "manifest/release_time.h"
#include "pipeline/release_validate.h"

namespace moedist::cli {
namespace {

struct ValidateCliOptions {
  ValidateOptions v;
  std::vector<std::string> pubkeys;
  std::string node;
  std::string key;
  std::string now;
  std::string tier_bytes;
  bool no_manifest = false;
  bool equivalence_optional = false;
  bool json = false;
};

std::string Delta(const std::optional<double>& v) {
  return v ? fmt::format("{:+.4f}", *v) : std::string("–");
}

void PrintText(const ValidationReport& r) {
  fmt::print("release    {} version {}\n", r.release_name, r.release_version);
  for (const std::string& p : r.release_problems) fmt::print("problem    {}\n", p);
  auto ref = [](const char* name, const ReferenceValidation& v) {
    if (v.quality) {
      fmt::print("{:<10} mean log-prob {:.4f}, distinct-2 {:.3f} ({})\n", name,
                 v.quality->mean_logprob, v.degeneracy ? v.degeneracy->distinct_2 : 1.0, v.note);
    } else {
      fmt::print("{:<10} {}\n", name, v.note);
    }
  };
  ref("full", r.full);
  ref("quantized", r.quantized_full);
  fmt::print("{:<10} {:<6} {:<11} {:>10} {:>10} {:>10} {:>10}  {}\n", "node", "mode", "equivalence",
             "logprob", "Δ full", "Δ quant", "distinct-2", "verdict");
  for (const NodeValidation& n : r.nodes) {
    fmt::print("{:<10} {:<6} {:<11} {:>10} {:>10} {:>10} {:>10}  {}\n", n.node, n.mode,
               CheckStateName(n.equivalence),
               n.quality ? fmt::format("{:.4f}", n.quality->mean_logprob) : "–",
               Delta(n.delta_vs_full), Delta(n.delta_vs_quantized_full),
               n.degeneracy ? fmt::format("{:.3f}", n.degeneracy->distinct_2) : "–",
               n.passed() ? "ok" : "FAILED");
    for (const std::string& f : n.failures) fmt::print("           {}\n", f);
  }
  if (r.sessions) {
    const SessionQuality& q = *r.sessions;
    fmt::print(
        "sessions   worst node {:+.4f} ({}), placed {:+.4f}, oracle {:+.4f} nats/token; the "
        "placer's node is the best for {:.0f}% of prompts (first {} tokens)\n",
        q.worst_node, r.nodes[q.worst_node_index].node, q.placed, q.oracle,
        100 * q.placed_best_share, r.place_tokens);
    if (!r.placed_failure.empty()) fmt::print("           {}\n", r.placed_failure);
  }
  for (const std::string& note : r.notes) fmt::print("note       {}\n", note);
  for (const std::string& w : r.written) fmt::print("wrote      {}\n", w);
  fmt::print("validate: {}\n", r.passed() ? "OK" : "FAILED");
}

int RunValidate(ValidateCliOptions& o) {
  if (o.pubkeys.empty() && !o.v.allow_unsigned && o.key.empty()) {
    return ReportError("validate",
                       Status::InvalidArgument("give --pubkey (repeatable) or --key to check the "
                                               "signature, or --unsigned to skip it"));
  }
  for (const std::string& p : o.pubkeys) {
    auto key = PublicKey::Load(p);
    if (!key.ok()) return ReportError("validate", key.status());
    o.v.trusted_keys.push_back(std::move(key).value());
  }
  std::optional<PrivateKey> key;
  if (!o.key.empty()) {
    auto loaded = PrivateKey::Load(o.key);
    if (!loaded.ok()) return ReportError("validate", loaded.status());
    key = std::move(loaded).value();
    o.v.sign_key = &*key;
  }
  if (!o.now.empty()) {
    auto now = ParseRfc3339Utc(o.now, "--now");
    if (!now.ok()) {
      return ReportError("validate", Status(StatusCode::kInvalidArgument, now.status().message()));
    }
    o.v.now = *now;
  }
  if (!o.node.empty()) o.v.node = o.node;
  if (!o.tier_bytes.empty()) {
    auto bytes = ParseByteSize(o.tier_bytes, "--tier-bytes");
    if (!bytes.ok()) return ReportError("validate", bytes.status());
    o.v.tier_bytes = *bytes;
  }
  o.v.update_manifest = !o.no_manifest;
  o.v.thresholds.require_equivalence = !o.equivalence_optional;
  auto report = ValidateRelease(o.v);
  if (!report.ok()) return ReportError("validate", report.status());
  if (o.json) {
    fmt::print("{}\n", ValidationReportToJson(*report).dump(2));
  } else {
    PrintText(*report);
  }
  if (!report->passed()) {
    const auto failed = report->FailedNodes();
    fmt::print(stderr, "moedist validate: error: {}: {} (exit 1)\n", o.v.dist_dir,
               !failed.empty() ? fmt::format("failed nodes: {}", fmt::join(failed, ", "))
               : !report->placed_failure.empty() ? report->placed_failure
                                                 : "the release failed verification");
    return kExitCheckFailed;
  }
  return kExitOk;
}

Registrar registrar(
    {"validate", 85,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<ValidateCliOptions>();
       ValidateOptions& v = o->v;
       sub.add_option("dist", v.dist_dir, "release directory (moedist pack)")->required();
       sub.add_option("--eval", v.eval_path, "eval prompts, calibration-suite JSONL")->required();
       sub.add_option("--checkpoint", v.checkpoint_dir,
                      "the source checkpoint (checked against distribution.json's digests)")
           ->required();
       sub.add_option("--node", o->node,
                      "validate only this node (distribution.json is then "
                      "not updated)");
       sub.add_option("--pubkey", o->pubkeys, "trusted Ed25519 public key (PEM); repeatable");
       sub.add_flag("--unsigned", v.allow_unsigned, "skip the signature check");
       sub.add_option("--key", o->key,
                      "Ed25519 private key: trusted for verify, and signs distribution.json "
                      "again after the validation section is written");
       sub.add_flag("--no-manifest", o->no_manifest,
                    "leave distribution.json (and its signature) unchanged");
       sub.add_option("--report-dir", v.report_dir,
                      "write validation.json and validation.html here (outside DIST)");
       sub.add_option(
           "--plan", v.plan_path,
           "plan.json of the release; a budget plan's measured candidates are plotted (node "
           "bytes against Δ) in the HTML page");
       sub.add_option("--profile", v.profile_path,
                      "profile.json for the HTML plots and the hotness tiers (default: the one "
                      "distribution.json's calibration section names, if present)");
       sub.add_option("--tier-bytes", o->tier_bytes,
                      "hotness tiers: bytes to keep resident (GPU or RAM), e.g. 4M; the experts "
                      "to keep, with their coverage on the calibration and eval suites, go into "
                      "distribution.json's tiers section (docs/tiers.md)");
       sub.add_option("--quantized-full", v.quantized_full_dir,
                      "a one-node release of the checkpoint packed with the same recipe "
                      "(default: packed into the scratch directory when the recipe quantizes)");
       sub.add_option("--scratch", v.scratch_dir, "working directory (default: a temporary one)");
       sub.add_option("--max-prompt-tokens", v.max_prompt_tokens,
                      "eval prompts are cut to this many tokens (default 256)")
           ->check(CLI::Range(2, 1 << 20));
       sub.add_flag("--add-bos", v.add_bos, "prepend config.json's bos_token_id to text prompts");
       sub.add_option("--gen-prompts", v.generation_prompts, "greedy samples per model (default 8)")
           ->check(CLI::Range(0, 10000));
       sub.add_option("--gen-prompt-tokens", v.generation_prompt_tokens,
                      "tokens of each eval prompt the samples start from (default 16)")
           ->check(CLI::Range(1, 1 << 20));
       sub.add_option("--gen-tokens", v.generation_new_tokens,
                      "tokens generated per sample (default 48)")
           ->check(CLI::Range(0, 1 << 20));
       sub.add_option("--max-logprob-drop", v.thresholds.max_logprob_drop,
                      "fail a node whose mean token log-probability over every eval prompt is more "
                      "than this many nats below the full model's (default 0.1: perplexity at most "
                      "1.105 times the full model's)")
           ->check(CLI::NonNegativeNumber);
       sub.add_option("--max-placed-drop", v.thresholds.max_placed_logprob_drop,
                      "fail the release when placed sessions (each eval prompt on the node "
                      "place picks) lose more than this many nats per token (default 0.05)")
           ->check(CLI::NonNegativeNumber);
       sub.add_option("--place-tokens", v.place_tokens,
                      "first tokens of each eval prompt the placer sees, as place --tokens "
                      "(default 64)")
           ->check(CLI::Range(1, 1 << 20));
       sub.add_option("--min-distinct-2", v.thresholds.min_distinct_2,
                      "fail a node whose greedy samples' mean distinct-2 is below this "
                      "(default 0.30)")
           ->check(CLI::Range(0.0, 1.0));
       sub.add_option("--max-distinct-2-drop", v.thresholds.max_distinct_2_drop,
                      "fail a node whose mean distinct-2 is this much below the full model's "
                      "(default 0.20)")
           ->check(CLI::Range(0.0, 1.0));
       sub.add_flag("--equivalence-optional", o->equivalence_optional,
                    "report logit differences of unquantized nodes without failing them");
       sub.add_option("--now", o->now, "current time for the expiry check (RFC 3339 UTC; tests)");
       sub.add_option("-j,--jobs", v.threads, "threads hashing files (default: one per CPU)")
           ->check(CLI::Range(1, 1024));
       sub.add_flag("--json", o->json, "print the report as JSON");
       return [o] { return RunValidate(*o); };
     },
     "check every node of a release: verify, load, equivalence, Δ log-probability, degeneracy"});

}  // namespace
}  // namespace moedist::cli
