// moedist eval MODEL (--text FILE | --ids FILE) [--mask FILE] [--logits-out F.safetensors]
//                    [--routing-out F.json] [--json]: teacher-forced log-probability.
// moedist eval DIST --node K (--pubkey P | --unsigned | --no-verify) [--gguf] ...: the same on
//                    one node of a release, verified first (pipeline/release_node.h).
#include <fmt/format.h>

#include <cmath>

#include "apps/command_registry.h"
#include "apps/release_node_flags.h"
#include "core/json_strict.h"
#include "pipeline/release_node.h"
#include "runtime-min/eval_job.h"

namespace moedist::cli {
namespace {

struct EvalCliOptions {
  EvalJobOptions job;
  ReleaseNodeOptions node;
  ReleaseTrustFlags trust;
  bool json = false;
};

int RunEval(EvalCliOptions& o) {
  auto is_node = ResolveReleaseNode(o.job.model_dir, o.trust, o.node);
  if (!is_node.ok()) return ReportError("eval", is_node.status());
  std::optional<NodeEvalReport> node_report;
  Result<EvalJobReport> report = Status::Internal("unreachable");
  if (*is_node) {
    auto n = RunNodeEvalJob(o.node, o.job);
    if (!n.ok()) return ReportError("eval", n.status());
    node_report = *std::move(n);
    report = node_report->eval;
    if (node_report->trust != ReleaseTrust::kSignature) {
      fmt::print(stderr, "moedist eval: warning: {}/{}: signature NOT CHECKED (verified: {})\n",
                 o.node.dist_dir, o.node.node, ReleaseTrustName(node_report->trust));
    }
  } else {
    report = RunEvalJob(o.job);
  }
  if (!report.ok()) return ReportError("eval", report.status());
  const EvalResult& r = report->result;
  if (o.json) {
    nlohmann::json j = {{"sequences", report->sequences},
                        {"tokens", r.num_tokens},
                        {"predicted_tokens", r.num_predicted},
                        {"masked", report->masked}};
    if (node_report) {
      j["node"] = o.node.node;
      j["format"] = node_report->format;
      j["verified"] = ReleaseTrustKey(node_report->trust);
    }
    // JSON has no NaN: a run with nothing to predict reports null.
    j["mean_logprob"] = r.num_predicted ? nlohmann::json(r.mean_logprob()) : nlohmann::json();
    j["perplexity"] = r.num_predicted ? nlohmann::json(r.perplexity()) : nlohmann::json();
    fmt::print("{}\n", DumpJsonStable(j));
  } else {
    fmt::print("sequences       {}\n", report->sequences);
    fmt::print("tokens          {} ({} predicted)\n", r.num_tokens, r.num_predicted);
    fmt::print("mean logprob    {:.6f}\n", r.mean_logprob());
    fmt::print("perplexity      {:.4f}\n", r.perplexity());
    if (node_report) {
      fmt::print("node            {} ({}), verified: {}\n", o.node.node, node_report->format,
                 ReleaseTrustName(node_report->trust));
    }
  }
  return kExitOk;
}

Registrar registrar(
    {"eval", 100,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<EvalCliOptions>();
       sub.add_option("model", o->job.model_dir,
                      "Hugging Face checkpoint directory, or a release (DIST) with --node")
           ->required();
       sub.add_option("--node", o->node.node, "DIST: evaluate this node of the release (node-<k>)");
       sub.add_flag("--gguf", o->node.gguf, "DIST: load the node's GGUF file (pack --format both)");
       o->trust.Add(sub, /*allow_no_verify=*/true);
       auto* text = sub.add_option("--text", o->job.text_path,
                                   "text file, tokenized with "
                                   "MODEL/tokenizer.json as one sequence");
       auto* ids = sub.add_option("--ids", o->job.ids_path,
                                  "JSON array of token-id arrays, each run "
                                  "from position 0");
       text->excludes(ids);
       sub.add_option("--mask", o->job.mask_path,
                      "expert mask JSON: {\"allowed\": [ids]} or "
                      "{\"layers\": {\"<layer>\": [ids]}}");
       sub.add_option("--logits-out", o->job.logits_out,
                      "write F32 \"logits\" [B, S, V] to this safetensors file");
       sub.add_option("--routing-out", o->job.routing_out,
                      "write {\"<layer>\": [[experts of token b*S+s], ...]}");
       sub.add_flag("--add-bos", o->job.add_bos, "--text: prepend config.json's bos_token_id");
       sub.add_flag("--json", o->json, "print the result as JSON");
       return [o] {
         if (o->job.text_path.empty() && o->job.ids_path.empty()) {
           return ReportError("eval", Status::InvalidArgument("give --text FILE or --ids FILE"));
         }
         return RunEval(*o);
       };
     },
     "teacher-forced mean token log-probability and perplexity, with an "
     "optional expert mask"});

}  // namespace
}  // namespace moedist::cli
