// moedist plan profile.json --groups N [--overlay K | --overlay-bytes B] [--strategy S]
//              [--assign FILE] [--min-experts N] [--force] [--eval-profile P] -o plan.json [--json]
// moedist plan profile.json --nodes N --node-bytes B [--checkpoint DIR] [--suite FILE]
//              [--measure K] [--measure-prompts P] [--measure-tokens T] -o plan.json [--json]
#include <fmt/format.h>

#include <filesystem>

#include "apps/command_registry.h"
#include "core/atomic_file.h"
#include "core/byte_size.h"
#include "core/json_strict.h"
#include "pipeline/budget_plan.h"
#include "pipeline/planner.h"
#include "pipeline/standin_plan.h"

namespace moedist::cli {
namespace {

struct PlanCliOptions {
  std::string profile;
  PlanOptions lib;
  BudgetOptions budget;
  std::string node_bytes;  // budget mode when set, with --nodes
  std::string standins;    // fixed split: proxy stand-in kind, or empty
  int proxies_per_group = 1;
  bool groups_given = false;
  std::string out;
  bool json = false;
};

void PrintComparison(const PlanResult& r) {
  fmt::print("{:<11} {:>8} {:>8} {:>8} {:>10} {:>11}   per domain (mean)\n", "strategy", "mean",
             "p10", "min", "held-out", "worst node");
  for (const auto& [name, rep] : r.comparison) {
    std::string domains;
    for (const auto& [d, v] : rep.planning.by_domain) domains += fmt::format(" {}={:.3f}", d, v);
    fmt::print("{:<11} {:>8.4f} {:>8.4f} {:>8.4f} {:>10} {:>11.4f}  {}{}\n", name,
               rep.planning.mean, rep.planning.p10, rep.planning.min,
               rep.heldout ? fmt::format("{:.4f}", rep.heldout->mean) : "-",
               rep.planning.worst_group_all, domains,
               name == r.plan.strategy ? "   <- chosen" : "");
  }
  fmt::print(
      "captured mass: share of the full model's top-k routing mass a prompt keeps on its "
      "best node (1.0 = nothing lost); worst node: the lowest of each node's mean over every "
      "prompt\n");
}

void PrintBudget(const BudgetPlanResult& r, const BudgetOptions& o) {
  fmt::print(
      "{} nodes of {}: {} configurations, {} fit; measured on {} calibration prompts ({} "
      "tokens)\n",
      o.nodes, FormatByteSize(o.node_bytes), r.configurations, r.configurations - r.over_budget,
      r.prompts, r.tokens);
  fmt::print("{:<40} {:>11} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "candidate", "pred bytes",
             "bytes", "pred wst", "worst", "placed", "oracle", "pred plc");
  for (size_t i = 0; i < r.candidates.size(); ++i) {
    const BudgetCandidate& c = r.candidates[i];
    if (!c.measured && i >= 12) continue;  // --json lists every candidate
    auto fig = [&](auto get) {
      return c.measured ? fmt::format("{:+.4f}", get(c.measured->quality)) : std::string("-");
    };
    fmt::print("{:<40} {:>11} {:>11} {:>+9.4f} {:>9} {:>9} {:>9} {:>+9.4f}{}\n", c.config.Id(),
               c.predicted.bytes, c.measured ? fmt::format("{}", c.measured->bytes) : "-",
               c.predicted.worst, fig([](const SessionQuality& q) { return q.worst_node; }),
               fig([](const SessionQuality& q) { return q.placed; }),
               fig([](const SessionQuality& q) { return q.oracle; }), c.predicted.placed,
               static_cast<int>(i) == r.chosen ? "   <- chosen"
               : c.over_budget                 ? "   (files over budget)"
               : !c.measure_error.empty()      ? "   (measurement failed)"
                                               : "");
  }
  fmt::print(
      "Δ: mean log-probability per token against the full model (nats, negative = worse); "
      "worst: the worst node serving every prompt; placed: each prompt on the node `place` "
      "picks; oracle: each prompt on its best node; pred: the predictor's ranking figure\n");
  fmt::print("chosen: {} ({})\n", r.candidates[r.chosen].config.Id(), r.reason);
}

int RunBudget(PlanCliOptions& o, const GateProfile& profile) {
  auto bytes = ParseByteSize(o.node_bytes, "--node-bytes");
  if (!bytes.ok()) return ReportError("plan", bytes.status());
  o.budget.node_bytes = *bytes;
  o.budget.placement = o.lib.placement;
  if (!o.json) {
    o.budget.progress = [](const std::string& line) { fmt::print(stderr, "plan: {}\n", line); };
  }
  auto r = PlanToBudget(profile, o.profile, o.budget);
  if (!r.ok()) return ReportError("plan", r.status());
  Status st = WriteBudgetPlan(*r, profile, o.profile, o.budget, o.out);
  nlohmann::json j = BudgetPlanToJson(*r, profile, o.profile, o.budget);
  if (!st.ok()) return ReportError("plan", st);
  for (const auto& w : r->plan.warnings) fmt::print(stderr, "warning: {}\n", w);
  if (o.json) {
    fmt::print("{}\n", DumpJsonStable({{"plan", o.out}, {"budget", j["budget"]}}));
  } else {
    PrintBudget(*r, o.budget);
    fmt::print(
        "wrote {} ({} node director{}, recipe in \"recipe\": pack uses it without "
        "--recipe)\n",
        o.out, r->plan.plan.num_groups, r->plan.plan.num_groups == 1 ? "y" : "ies");
  }
  return kExitOk;
}

int RunPlan(PlanCliOptions& o) {
  const bool budget = o.budget.nodes > 0 || !o.node_bytes.empty();
  if (budget && (o.budget.nodes == 0 || o.node_bytes.empty())) {
    return ReportError("plan", Status::InvalidArgument("--nodes and --node-bytes go together"));
  }
  if (!budget && !o.groups_given) {
    return ReportError("plan", Status::InvalidArgument(
                                   "give --groups N (a fixed split), or --nodes N --node-bytes B "
                                   "(the best measured configuration for that memory)"));
  }
  auto profile = ReadGateProfile(o.profile);
  if (!profile.ok()) return ReportError("plan", profile.status());
  if (budget) return RunBudget(o, *profile);
  if (o.standins.empty() && (!o.budget.checkpoint_dir.empty() || !o.budget.suite_path.empty())) {
    return ReportError(
        "plan", Status::InvalidArgument("--checkpoint and --suite are for budget mode (--nodes, "
                                        "--node-bytes) or --standins"));
  }
  auto r = MakePlan(*profile, o.profile, o.lib);
  if (!r.ok()) return ReportError("plan", r.status());
  nlohmann::json j = PlanResultToJson(*r, *profile, o.profile, o.lib);
  if (!o.standins.empty()) {
    auto kind = ParseFileStandInKind(o.standins);
    if (!kind.ok()) return ReportError("plan", kind.status());
    const std::string checkpoint =
        o.budget.checkpoint_dir.empty() ? profile->checkpoint : o.budget.checkpoint_dir;
    const std::string suite =
        o.budget.suite_path.empty() ? profile->suite_path : o.budget.suite_path;
    if (!o.json) fmt::print(stderr, "plan: fitting {} stand-ins on {}\n", o.standins, suite);
    auto section =
        WriteStandInsBesidePlan(r->plan, *kind, checkpoint, suite, o.out, o.proxies_per_group);
    if (!section.ok()) return ReportError("plan", section.status());
    j["standins"] = *section;
  }
  Status st = WriteFileAtomically(o.out, DumpJsonStable(j) + "\n");
  if (!st.ok()) return ReportError("plan", st);
  for (const auto& w : r->warnings) fmt::print(stderr, "warning: {}\n", w);
  if (o.json) {
    fmt::print("{}\n", DumpJsonStable({{"plan", o.out},
                                       {"strategy", r->plan.strategy},
                                       {"comparison", j["comparison"]},
                                       {"nodes", j["nodes"]}}));
  } else {
    PrintComparison(*r);
    fmt::print("wrote {} ({} groups, strategy {})\n", o.out, r->plan.num_groups, r->plan.strategy);
  }
  return kExitOk;
}

Registrar registrar(
    {"plan", 30,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<PlanCliOptions>();
       sub.add_option("profile", o->profile, "profile.json from moedist profile")->required();
       auto* groups = sub.add_option("--groups", o->lib.groups, "node groups (fixed split)")
                          ->check(CLI::Range(1, 65536))
                          ->each([o](const std::string&) { o->groups_given = true; });
       auto* k = sub.add_option("--overlay", o->lib.overlay, "overlay experts per MoE layer")
                     ->check(CLI::Range(0, 65536));
       sub.add_option("--overlay-bytes", o->lib.overlay_bytes,
                      "overlay budget in bytes over all MoE layers")
           ->excludes(k);
       sub.add_option("--strategy", o->lib.strategy,
                      "contiguous|modulo|snake|placement|custom (default placement)")
           ->check(CLI::IsMember({"contiguous", "modulo", "snake", "placement", "custom"}));
       sub.add_option("--assign", o->lib.assign_path, "custom assignment JSON");
       sub.add_option("--min-experts", o->lib.min_experts,
                      "viability threshold per node and layer (default 4 × top-k)");
       sub.add_flag("--force", o->lib.force, "accept groups below the viability threshold");
       sub.add_flag("--split-router-groups", o->lib.split_router_groups,
                    "grouped top-k routers (DeepSeek-V3): place experts one by one instead of "
                    "whole router groups per node (nodes then need the full router and a mask, "
                    "and get no node GGUF)");
       sub.add_option("--eval-profile,--eval-suite", o->lib.eval_profile_path,
                      "profile of held-out prompts (moedist profile on the eval suite)");
       sub.add_option("--balance", o->lib.placement.balance,
                      "placement: also search with no group optimised for more than (1 + B) / "
                      "groups of the calibration prompts (default 0.25; negative: off)");
       sub.add_option("--worst-node-weight", o->lib.placement.worst_node_weight,
                      "placement: weight w of the worst node's captured mass over every prompt "
                      "against placed sessions' (1 - w); default 0.5, 0 = placed sessions only")
           ->check(CLI::Range(0.0, 1.0));
       // Budget mode.
       auto* nodes = sub.add_option("--nodes", o->budget.nodes,
                                    "budget mode: machines to serve from (with --node-bytes)")
                         ->check(CLI::Range(1, 65536))
                         ->excludes(groups);
       sub.add_option("--node-bytes", o->node_bytes,
                      "budget mode: bytes of one node's files (trunk + group + overlay + node "
                      "files), e.g. 24G; measures candidates and picks the best")
           ->excludes(groups);
       sub.add_option("--checkpoint", o->budget.checkpoint_dir,
                      "budget mode and --standins: the checkpoint (default: the one the profile "
                      "names)");
       sub.add_option("--suite", o->budget.suite_path,
                      "budget mode: calibration suite to measure on; --standins: to fit on "
                      "(default: the profile's)");
       CLI::Option* standins =
           sub.add_option(
                  "--standins", o->standins,
                  "fixed split: give each node proxy experts for the groups it lacks, fitted "
                  "on the calibration suite and written beside plan.json "
                  "(proxy-fit | proxy-average; docs/commands/plan.md)")
               ->check(CLI::IsMember({"proxy-fit", "proxy-average"}))
               ->excludes(nodes);
       sub.add_option("--proxies-per-group", o->proxies_per_group,
                      "with --standins: proxies per group, each for a cluster of the group's "
                      "experts the router scores alike (default 1; each extra one is one more "
                      "expert per node and layer)")
           ->check(CLI::Range(1, 65536))
           ->needs(standins);
       sub.add_option("--measure", o->budget.measure,
                      "budget mode: candidates measured, best predicted first (default 4; the "
                      "best whole and best split are always measured)")
           ->check(CLI::Range(1, 1000));
       sub.add_option("--measure-prompts", o->budget.measure_prompts,
                      "budget mode: calibration prompts scored, round-robin over domains "
                      "(default 0 = all)")
           ->check(CLI::Range(0, 1000000));
       sub.add_option("--measure-tokens", o->budget.measure_tokens,
                      "budget mode: tokens per prompt scored (default 128)")
           ->check(CLI::Range(2, 1000000));
       sub.add_option("--place-tokens", o->budget.place_tokens,
                      "budget mode: first tokens the placer sees, as place --tokens (default 64)")
           ->check(CLI::Range(1, 1000000));
       sub.add_option("--tie", o->budget.tie_nats,
                      "budget mode: Δs this close (nats/token) are a tie: worst node first, then "
                      "placed, then more bytes (default 0.002)")
           ->check(CLI::Range(0.0, 10.0));
       sub.add_option("-j,--threads", o->budget.threads,
                      "budget mode: pack threads while measuring (default 1)")
           ->check(CLI::Range(1, 256));
       sub.add_flag("!--no-sensitivity", o->budget.sensitivity,
                    "budget mode: do not measure the best split again with its overlay "
                    "allocated per layer by measured layer sensitivity");
       sub.add_flag("!--no-standins", o->budget.standins,
                    "budget mode: do not measure splits with proxy experts (for every group "
                    "count, filling the best split's bytes)");
       sub.add_option("--scratch", o->budget.scratch_dir,
                      "budget mode: directory for measured candidates (default: a temporary one, "
                      "removed)");
       sub.add_flag("--keep-scratch", o->budget.keep_scratch,
                    "budget mode: keep each measured candidate's release under --scratch");
       sub.add_option("-o,--out", o->out, "plan.json to write")->required();
       sub.add_flag("--json", o->json, "print JSON");
       return [o] { return RunPlan(*o); };
     },
     "partition experts into node groups plus a replicated overlay, or (--nodes, --node-bytes) "
     "choose the best measured configuration for N machines of B bytes"});

}  // namespace
}  // namespace moedist::cli
