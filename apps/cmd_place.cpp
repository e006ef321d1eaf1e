// moedist place DIST (--prompt TEXT | --ids JSON | --stdin) (--pubkey P | --unsigned)
//               [--tokens N] [--json]: which node of a release should serve a prompt, from the
//               release alone (distribution.json + trunk; pipeline/release_placement.h).
// moedist place CKPT --plan plan.json (--prompt TEXT | --ids JSON) [--tokens N] [--json]: the
//               same from the source checkpoint and its plan (pipeline/prompt_placement.h).
#include <fmt/format.h>

#include <iostream>

#include "apps/command_registry.h"
#include "apps/release_node_flags.h"
#include "core/json_strict.h"
#include "pipeline/placement_server.h"
#include "pipeline/prompt_placement.h"
#include "pipeline/release_placement.h"

namespace moedist::cli {
namespace {

struct PlaceCliOptions {
  PlacementRequest lib;
  std::string ids_json;
  bool serve = false;
  ReleaseTrustFlags trust;
  bool json = false;
};

void Print(const PlacementResult& r, const ReleasePlacer* placer, bool json) {
  if (json) {
    nlohmann::json j = PlacementToJson(r);
    if (placer) j["verified"] = ReleaseTrustKey(placer->trust());
    fmt::print("{}\n", DumpJsonStable(j));
    return;
  }
  for (size_t g = 0; g < r.scores.size(); ++g) {
    fmt::print("{:<10} captured mass {:.4f}{}\n", r.nodes[g], r.scores[g],
               static_cast<int>(g) == r.chosen ? "  <- place here" : "");
  }
  fmt::print("margin {:.4f} over {} tokens and {} layer{} ({})\n", r.margin, r.tokens_used,
             r.layers.size(), r.layers.size() == 1 ? "" : "s", fmt::join(r.layers, ", "));
  if (placer) fmt::print("verified   {}\n", ReleaseTrustName(placer->trust()));
}

Result<std::vector<int32_t>> ParseIds(const std::string& text) {
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(text, "--ids"));
  try {
    return j.get<std::vector<int32_t>>();
  } catch (const std::exception&) {
    return Status::InvalidArgument("--ids must be a JSON list of token ids");
  }
}

// CKPT --plan: the source checkpoint and its plan.
int RunPlaceCheckpoint(PlaceCliOptions& o) {
  if (o.serve) {
    return ReportError("place", Status::InvalidArgument("--stdin places on a release (DIST), not "
                                                        "on a checkpoint with --plan"));
  }
  if (o.trust.any()) {
    return ReportError("place", Status::InvalidArgument("--pubkey/--unsigned check a release; "
                                                        "a checkpoint with --plan has none"));
  }
  if (!o.ids_json.empty()) {
    auto ids = ParseIds(o.ids_json);
    if (!ids.ok()) return ReportError("place", ids.status());
    o.lib.ids = *std::move(ids);
  }
  auto r = PlacePrompt(o.lib);
  if (!r.ok()) return ReportError("place", r.status());
  Print(*r, nullptr, o.json);
  return kExitOk;
}

// DIST: the release alone.
int RunPlaceRelease(PlaceCliOptions& o) {
  auto trust = o.trust.Options();
  if (!trust.ok()) return ReportError("place", trust.status());
  auto placer = ReleasePlacer::Open({.dist_dir = o.lib.checkpoint, .trust = *trust});
  if (!placer.ok()) return ReportError("place", placer.status());
  const ReleasePlacer& p = **placer;
  if (p.trust() != ReleaseTrust::kSignature) {
    fmt::print(stderr, "moedist place: warning: {}: signature NOT CHECKED (verified: {})\n",
               o.lib.checkpoint, ReleaseTrustName(p.trust()));
  }
  if (o.serve) {
    fmt::print(stderr,
               "moedist place: ready: {} nodes, probe layer {}, one JSON request per line\n",
               p.nodes().size(), p.probe_layer());
    auto stats = ServePlacementRequests(p, std::cin, std::cout, o.lib.tokens);
    if (!stats.ok()) return ReportError("place", stats.status());
    return kExitOk;
  }
  Result<PlacementResult> r = Status::Internal("unreachable");
  if (!o.ids_json.empty()) {
    auto ids = ParseIds(o.ids_json);
    if (!ids.ok()) return ReportError("place", ids.status());
    r = p.Place(*std::move(ids), o.lib.tokens);
  } else {
    r = p.PlaceText(o.lib.prompt, o.lib.tokens);
  }
  if (!r.ok()) return ReportError("place", r.status());
  Print(*r, &p, o.json);
  return kExitOk;
}

int RunPlace(PlaceCliOptions& o) {
  const int inputs = !o.lib.prompt.empty() + !o.ids_json.empty() + o.serve;
  if (inputs != 1) {
    return ReportError("place",
                       Status::InvalidArgument("give exactly one of --prompt, --ids and --stdin"));
  }
  return o.lib.plan_path.empty() ? RunPlaceRelease(o) : RunPlaceCheckpoint(o);
}

Registrar registrar(
    {"place", 35,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<PlaceCliOptions>();
       sub.add_option("source", o->lib.checkpoint,
                      "release directory (DIST), or a checkpoint directory with --plan")
           ->required();
       sub.add_option("--plan", o->lib.plan_path,
                      "plan.json: place on the checkpoint's full model instead of a release");
       sub.add_option("--prompt", o->lib.prompt, "prompt text");
       sub.add_option("--ids", o->ids_json, "prompt as a JSON list of token ids");
       sub.add_flag("--stdin", o->serve,
                    "release: answer JSON-line requests from stdin, one JSON line each "
                    "(docs/commands/place.md)");
       sub.add_option("--tokens", o->lib.tokens, "score the first N tokens (default 64)")
           ->check(CLI::Range(1, 1 << 20));
       o->trust.Add(sub, /*allow_no_verify=*/false);
       sub.add_flag("--json", o->json, "print JSON");
       return [o] { return RunPlace(*o); };
     },
     "score each node for a prompt; say which node should serve it"});

}  // namespace
}  // namespace moedist::cli
