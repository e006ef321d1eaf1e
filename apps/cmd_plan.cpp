// moedist plan profile.json --groups N [--overlay K | --overlay-bytes B] [--strategy S]
//              [--assign FILE] [--min-experts N] [--force] [--eval-profile P] -o plan.json [--json]
#include <fmt/format.h>

#include "apps/command_registry.h"
#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "pipeline/planner.h"

namespace moedist::cli {
namespace {

struct PlanCliOptions {
  std::string profile;
  PlanOptions lib;
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

int RunPlan(PlanCliOptions& o) {
  auto profile = ReadGateProfile(o.profile);
  if (!profile.ok()) return ReportError("plan", profile.status());
  auto r = MakePlan(*profile, o.profile, o.lib);
  if (!r.ok()) return ReportError("plan", r.status());
  nlohmann::json j = PlanResultToJson(*r, *profile, o.profile, o.lib);
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
       sub.add_option("--groups", o->lib.groups, "node groups")
           ->required()
           ->check(CLI::Range(1, 65536));
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
       sub.add_option("--eval-profile,--eval-suite", o->lib.eval_profile_path,
                      "profile of held-out prompts (moedist profile on the eval suite)");
       sub.add_option("--balance", o->lib.placement.balance,
                      "placement: also search with no group optimised for more than (1 + B) / "
                      "groups of the calibration prompts (default 0.25; negative: off)");
       sub.add_option("--worst-node-weight", o->lib.placement.worst_node_weight,
                      "placement: weight w of the worst node's captured mass over every prompt "
                      "against placed sessions' (1 - w); default 0.5, 0 = placed sessions only")
           ->check(CLI::Range(0.0, 1.0));
       sub.add_option("-o,--out", o->out, "plan.json to write")->required();
       sub.add_flag("--json", o->json, "print JSON");
       return [o] { return RunPlan(*o); };
     },
     "partition experts into node groups plus a replicated overlay"});

}  // namespace
}  // namespace moedist::cli
