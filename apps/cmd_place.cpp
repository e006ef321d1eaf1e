// moedist place CKPT --plan plan.json (--prompt TEXT | --ids JSON) [--tokens N] [--json]
#include <fmt/format.h>

#include "apps/command_registry.h"
#include "core/json_strict.h"
#include "pipeline/prompt_placement.h"

namespace moedist::cli {
namespace {

struct PlaceCliOptions {
  PlacementRequest lib;
  std::string ids_json;
  bool json = false;
};

int RunPlace(PlaceCliOptions& o) {
  if (o.lib.prompt.empty() == o.ids_json.empty()) {
    return ReportError("place", Status::InvalidArgument("give exactly one of --prompt and --ids"));
  }
  if (!o.ids_json.empty()) {
    auto j = ParseJsonStrict(o.ids_json, "--ids");
    if (!j.ok()) return ReportError("place", j.status());
    try {
      o.lib.ids = j->get<std::vector<int32_t>>();
    } catch (const std::exception&) {
      return ReportError("place",
                         Status::InvalidArgument("--ids must be a JSON list of token ids"));
    }
  }
  auto r = PlacePrompt(o.lib);
  if (!r.ok()) return ReportError("place", r.status());
  if (o.json) {
    fmt::print("{}\n", DumpJsonStable({{"scores", r->scores},
                                       {"node", r->chosen},
                                       {"margin", r->margin},
                                       {"tokens", r->tokens_used},
                                       {"layers", r->layers}}));
  } else {
    for (size_t g = 0; g < r->scores.size(); ++g) {
      fmt::print("node {:>3}: captured mass {:.4f}{}\n", g, r->scores[g],
                 static_cast<int>(g) == r->chosen ? "  <- place here" : "");
    }
    fmt::print("margin {:.4f} over {} tokens and {} layers\n", r->margin, r->tokens_used,
               r->layers.size());
  }
  return kExitOk;
}

Registrar registrar(
    {"place", 35,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<PlaceCliOptions>();
       sub.add_option("checkpoint", o->lib.checkpoint, "checkpoint directory")->required();
       sub.add_option("--plan", o->lib.plan_path, "plan.json")->required();
       sub.add_option("--prompt", o->lib.prompt, "prompt text");
       sub.add_option("--ids", o->ids_json, "prompt as a JSON list of token ids");
       sub.add_option("--tokens", o->lib.tokens, "score the first N tokens (default 64)")
           ->check(CLI::Range(1, 1 << 20));
       sub.add_flag("--json", o->json, "print JSON");
       return [o] { return RunPlace(*o); };
     },
     "score each node for a prompt; say which node should serve it"});

}  // namespace
}  // namespace moedist::cli
