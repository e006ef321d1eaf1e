// moedist run MODEL (--prompt TEXT | --prompt-ids JSON) [--max-tokens N] [--mask FILE]
//                   [--temperature T --top-p P --seed S] [--json]: generate text.
// moedist run DIST --node K (--pubkey P | --unsigned | --no-verify) [--gguf] ...: on one node
//                   of a release, verified first (pipeline/release_node.h).
#include <fmt/format.h>

#include <cstdio>

#include "apps/command_registry.h"
#include "apps/release_node_flags.h"
#include "core/json_strict.h"
#include "pipeline/release_node.h"
#include "runtime-min/generate_job.h"

namespace moedist::cli {
namespace {

struct RunCliOptions {
  GenerateJobOptions job;
  ReleaseNodeOptions node;
  ReleaseTrustFlags trust;
  bool json = false;
};

int RunRun(RunCliOptions& o) {
  if (!o.json) {
    o.job.on_text = [](std::string_view piece) {
      fmt::print("{}", piece);
      std::fflush(stdout);
    };
  }
  auto is_node = ResolveReleaseNode(o.job.model_dir, o.trust, o.node);
  if (!is_node.ok()) return ReportError("run", is_node.status());
  std::optional<NodeGenerateReport> node_report;
  Result<GenerateJobReport> report = Status::Internal("unreachable");
  if (*is_node) {
    auto n = RunNodeGenerateJob(o.node, o.job);
    if (!n.ok()) return ReportError("run", n.status());
    node_report = *std::move(n);
    report = node_report->generation;
    if (node_report->trust != ReleaseTrust::kSignature) {
      fmt::print(stderr, "moedist run: warning: {}/{}: signature NOT CHECKED (verified: {})\n",
                 o.node.dist_dir, o.node.node, ReleaseTrustName(node_report->trust));
    }
  } else {
    report = RunGenerateJob(o.job);
  }
  if (!report.ok()) return ReportError("run", report.status());
  const GenerateResult& g = report->generation;
  const DegeneracyStats& d = report->degeneracy;
  const size_t prompt = report->prompt_ids.size(), generated = g.tokens.size();
  auto rate = [](double n, double s) { return s > 0 ? n / s : 0.0; };
  if (o.json) {
    nlohmann::json j = {
        {"prompt_ids", report->prompt_ids},
        {"ids", g.tokens},
        {"stopped_at_eos", g.stopped},
        {"prefill_tokens_per_second", rate(prompt, g.prefill_seconds)},
        {"decode_tokens_per_second", rate(generated > 1 ? generated - 1 : 0, g.decode_seconds)},
        {"degeneracy",
         {{"distinct_1", d.distinct_1},
          {"distinct_2", d.distinct_2},
          {"distinct_3", d.distinct_3},
          {"longest_repeated_ngram", d.longest_repeated_ngram}}}};
    if (report->has_tokenizer) j["text"] = report->text;
    if (node_report) {
      j["node"] = o.node.node;
      j["format"] = node_report->format;
      j["verified"] = ReleaseTrustKey(node_report->trust);
    }
    fmt::print("{}\n", DumpJsonStable(j));
    return kExitOk;
  }
  fmt::print("\n");
  fmt::print(stderr,
             "prefill {} tokens in {:.3f} s ({:.1f} tok/s); decode {} tokens in {:.3f} s ({:.1f} "
             "tok/s){}\n",
             prompt, g.prefill_seconds, rate(prompt, g.prefill_seconds), generated,
             g.decode_seconds, rate(generated > 1 ? generated - 1 : 0, g.decode_seconds),
             g.stopped ? "; stopped at end-of-sequence" : "");
  fmt::print(stderr,
             "distinct-1 {:.3f} distinct-2 {:.3f} distinct-3 {:.3f}; longest repeated "
             "n-gram {}\n",
             d.distinct_1, d.distinct_2, d.distinct_3, d.longest_repeated_ngram);
  return kExitOk;
}

Registrar registrar(
    {"run", 110,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<RunCliOptions>();
       sub.add_option("model", o->job.model_dir,
                      "Hugging Face checkpoint directory, or a release (DIST) with --node")
           ->required();
       sub.add_option("--node", o->node.node, "DIST: run this node of the release (node-<k>)");
       sub.add_flag("--gguf", o->node.gguf, "DIST: load the node's GGUF file (pack --format both)");
       o->trust.Add(sub, /*allow_no_verify=*/true);
       auto* text =
           sub.add_option("--prompt", o->job.prompt, "prompt text (needs MODEL/tokenizer.json)");
       auto* ids =
           sub.add_option("--prompt-ids", o->job.prompt_ids, "prompt as a JSON array of token ids");
       text->excludes(ids);
       sub.add_option("--max-tokens", o->job.max_tokens, "tokens to generate")
           ->check(CLI::Range(0, 1 << 20));
       sub.add_option("--mask", o->job.mask_path, "expert mask JSON");
       sub.add_option("--temperature", o->job.sampling.temperature, "0 = greedy (default)")
           ->check(CLI::Range(0.0, 100.0));
       sub.add_option("--top-p", o->job.sampling.top_p, "nucleus sampling mass")
           ->check(CLI::Range(0.0, 1.0));
       sub.add_option("--seed", o->job.sampling.seed, "sampling seed");
       sub.add_flag("--add-bos", o->job.add_bos,
                    "prepend config.json's bos_token_id to a text prompt");
       sub.add_flag("--ignore-eos", o->job.ignore_eos, "do not stop at end-of-sequence tokens");
       sub.add_flag("--json", o->json, "print the result as JSON");
       return [o] {
         if (o->job.prompt.empty() && o->job.prompt_ids.empty()) {
           return ReportError("run",
                              Status::InvalidArgument("give --prompt TEXT or --prompt-ids JSON"));
         }
         return RunRun(*o);
       };
     },
     "generate from a prompt (greedy or sampled), with an optional expert mask"});

}  // namespace
}  // namespace moedist::cli
