// moedist pack CKPT plan.json --out DIST [--recipe R] [-j N] [--shard-bytes B]
//              [--release-name NAME] [--release-version V] [--created T] [--expires T]
//              [--valid-days D] [--format safetensors|gguf|both]
//              [--recheck-source stamp|digest|none] [--imatrix FILE] [--json]
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <thread>

#include "apps/command_registry.h"
#include "core/json_strict.h"
#include "pipeline/pack_release.h"
#include "quant/quant_type.h"

namespace moedist::cli {
namespace {

struct PackCliOptions {
  PackRequest req;
  std::string plan;
  std::string recipe;
  std::string format = "safetensors";
  std::string layout = "groups";
  std::string recheck_source = "stamp";
  bool json = false;
};

void PrintReport(const PackReport& r) {
  // Expert bundles (--layout experts) are summed on one line: a model has thousands.
  uint64_t expert_bundles = 0, expert_bytes = 0;
  std::map<std::string, int> expert_types;
  for (const std::string& b : r.bundles) {
    const uint64_t bytes = r.bundle_bytes.count(b) ? r.bundle_bytes.at(b) : 0;
    auto it = r.stored_types.find(b);
    if (b.starts_with("expert-")) {
      expert_bundles += 1;
      expert_bytes += bytes;
      if (it != r.stored_types.end()) {
        for (const auto& [type, n] : it->second) expert_types[type] += n;
      }
      continue;
    }
    std::string types;
    if (it != r.stored_types.end()) {
      for (const auto& [type, n] : it->second) types += fmt::format(" {}×{}", n, type);
    }
    fmt::print("{:<10} {:>14} bytes{}\n", b, bytes, types);
  }
  if (expert_bundles > 0) {
    std::string types;
    for (const auto& [type, n] : expert_types) types += fmt::format(" {}×{}", n, type);
    fmt::print("expert-*   {:>14} bytes in {} expert bundles{}\n", expert_bytes, expert_bundles,
               types);
  }
  for (const NodeInfo& n : r.nodes) {
    fmt::print("{}: {} mode ({})\n", n.node, NodeModeName(n.mode), n.mode_reason);
  }
  if (!r.fallbacks.empty()) {
    fmt::print(
        "{} tensors stored in another type than the recipe asks (--json lists them); "
        "first: {} in {}: {}\n",
        r.fallbacks.size(), r.fallbacks.front().tensor, r.fallbacks.front().bundle,
        r.fallbacks.front().choice.note);
  }
  if (!r.imatrix_sha256.empty()) {
    fmt::print("importance matrix {}: {} stored tensors quantized with its weights\n",
               r.imatrix_sha256.substr(0, 12), r.imatrix_weighted);
  }
  fmt::print("wrote {} files, {} bytes, {} tensors in {:.1f} s; {}/distribution.json\n",
             r.files.size(), r.bytes_written, r.tensors_written, r.seconds, r.out_dir);
}

int RunPack(PackCliOptions& o) {
  o.req.format = *ParseNodeFileFormat(o.format);  // CLI11 checked the spellings
  o.req.source_recheck = *ParseSourceRecheck(o.recheck_source);
  o.req.layout = *ParsePackLayoutKind(o.layout);
  auto plan = ReadPlanFile(o.plan);
  if (!plan.ok()) return ReportError("pack", plan.status());
  o.req.plan = std::move(plan).value();
  o.req.plan_source = o.plan;
  auto recipe = ResolvePackRecipe(o.recipe, o.plan, &o.req.recipe_source);
  if (!recipe.ok()) return ReportError("pack", recipe.status());
  o.req.recipe = std::move(recipe).value();
  auto report = PackRelease(o.req);
  if (!report.ok()) return ReportError("pack", report.status());
  for (const std::string& w : report->warnings) fmt::print(stderr, "warning: {}\n", w);
  if (o.json) {
    fmt::print("{}\n", DumpJsonStable(PackReportToJson(*report)));
  } else {
    PrintReport(*report);
  }
  return kExitOk;
}

Registrar registrar(
    {"pack", 40,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<PackCliOptions>();
       // One writer per hardware thread, at most 8: on 2 cores -j 2 packs at 0.91x the time of
       // `cp -r` + sync, -j 1 at 1.36x (docs/benchmarks.md); more writers than that only queue
       // on the disk.
       o->req.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
       sub.add_option("checkpoint", o->req.checkpoint_dir, "Hugging Face checkpoint directory")
           ->required();
       sub.add_option("plan", o->plan, "plan.json from moedist plan")->required();
       sub.add_option("--recipe", o->recipe,
                      "recipe JSON: tensor class -> type (default: the plan's \"recipe\" when "
                      "plan --node-bytes wrote one, else keep every tensor as it is); "
                      "types: keep, " +
                          QuantTypeNameList());
       sub.add_option("-o,--out", o->req.out_dir, "release directory to write")->required();
       sub.add_option("--imatrix", o->req.imatrix_path,
                      "importance matrix (llama.cpp imatrix GGUF, from profile --imatrix or "
                      "llama-imatrix): block-quantized tensors are quantized with its weights");
       sub.add_option("-j,--threads", o->req.threads,
                      "shards written at once (default: hardware threads, at most 8)")
           ->check(CLI::Range(1, 256));
       sub.add_option("--shard-bytes", o->req.shard_bytes,
                      "largest shard, in tensor bytes (default 4 GiB)")
           ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 50));
       sub.add_option("--release-name", o->req.release_name,
                      "release stream name (default <model_type>-<groups>x)");
       sub.add_option("--release-version", o->req.release_version, "release version (default 1)")
           ->check(CLI::Range(uint64_t{1}, (uint64_t{1} << 53) - 1));
       sub.add_option(
           "--created", o->req.created,
           "creation time, RFC 3339 UTC (default now; fix it for reproducible manifests)");
       auto* exp = sub.add_option("--expires", o->req.expires, "expiry time, RFC 3339 UTC");
       sub.add_option("--valid-days", o->req.valid_days, "days until expiry (default 365)")
           ->check(CLI::Range(1, 36500))
           ->excludes(exp);
       sub.add_option("--format", o->format,
                      "node files: safetensors (sharded bundles, default), gguf (one "
                      "node-<k>/node-<k>.gguf per node that llama.cpp loads, nothing else) or "
                      "both")
           ->check(CLI::IsMember({"safetensors", "gguf", "both"}));
       sub.add_option("--layout", o->layout,
                      "how routed experts are stored: groups (group-<k>/ and overlay/, "
                      "default) or experts (one expert-<layer>-<id>/ bundle per expert: a plan "
                      "or overlay change rewrites only the experts that moved, and a node "
                      "downloads only the experts it holds)")
           ->check(CLI::IsMember({"groups", "experts"}));
       sub.add_option("--recheck-source", o->recheck_source,
                      "after packing, check the checkpoint did not change while it was read: "
                      "stamp (inode, size, mtime and ctime as when it was hashed; default), "
                      "digest (hash it again: twice the reads) or none")
           ->check(CLI::IsMember({"stamp", "digest", "none"}));
       sub.add_flag("--json", o->json, "print the report as JSON");
       return [o] { return RunPack(*o); };
     },
     "write the bundles of a release: trunk, groups, overlay and one loadable node per group"});

}  // namespace
}  // namespace moedist::cli
