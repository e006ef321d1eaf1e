// moedist profile CKPT --suite FILE [--layers SPEC] [--max-tokens-per-prompt N] [-j N]
//                 -o profile.json [--json]
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "apps/command_registry.h"
#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "pipeline/gate_profiler.h"

namespace moedist::cli {
namespace {

struct ProfileCliOptions {
  ProfileOptions lib;
  std::string out;
  int jobs = 0;
  bool json = false;
};

int RunProfile(ProfileCliOptions& o) {
  if (o.jobs > 0) ::setenv("MOEDIST_THREADS", std::to_string(o.jobs).c_str(), 1);
  const bool tty = ::isatty(2);
  o.lib.progress = [tty](size_t done, size_t total, uint64_t tokens) {
    if (tty) {
      fmt::print(stderr, "\rprofile: {}/{} prompts, {} tokens", done, total, tokens);
      if (done == total) fmt::print(stderr, "\n");
    } else if (done == total || done % 50 == 0) {
      fmt::print(stderr, "profile: {}/{} prompts, {} tokens\n", done, total, tokens);
    }
  };
  auto profile = RunGateProfile(o.lib);
  if (!profile.ok()) return ReportError("profile", profile.status());
  Status st = WriteGateProfile(*profile, o.out);
  for (const auto& l : profile->layers) {
    if (!st.ok()) break;
    st = WriteFileAtomically(fmt::format("{}.ranking.layer{}.csv", o.out, l.layer),
                             RankingCsv(*profile, l.layer));
  }
  if (st.ok()) st = WriteFileAtomically(o.out + ".ranking.csv", RankingCsv(*profile, -1));
  if (!st.ok()) return ReportError("profile", st);
  nlohmann::json summary = {{"profile", o.out},
                            {"prompts", profile->prompts.size()},
                            {"tokens", profile->tokens},
                            {"layers", nlohmann::json::array()}};
  for (const auto& l : profile->layers) {
    auto curve = ConcentrationCurve(l);
    auto top = std::max_element(l.gate_mass.begin(), l.gate_mass.end()) - l.gate_mass.begin();
    summary["layers"].push_back({{"layer", l.layer},
                                 {"hottest_expert", top},
                                 {"hottest_share", curve.empty() ? 0.0 : curve[0]},
                                 {"top8_share", curve.size() >= 8 ? curve[7] : 1.0}});
  }
  if (o.json) {
    fmt::print("{}\n", DumpJsonStable(summary));
  } else {
    fmt::print("profiled {} prompts, {} tokens; wrote {} (+ .arrays.safetensors, ranking CSVs)\n",
               profile->prompts.size(), profile->tokens, o.out);
    for (const auto& l : summary["layers"]) {
      fmt::print("layer {:>3}: hottest expert {:>4} holds {:5.1f}% of gate mass; top 8 hold {:5.1f}%\n",
                 l["layer"].get<int>(), l["hottest_expert"].get<int>(),
                 100 * l["hottest_share"].get<double>(), 100 * l["top8_share"].get<double>());
    }
  }
  return kExitOk;
}

Registrar registrar({"profile", 20,
                     [](CLI::App& sub) -> std::function<int()> {
                       auto o = std::make_shared<ProfileCliOptions>();
                       sub.add_option("checkpoint", o->lib.checkpoint, "checkpoint directory")->required();
                       sub.add_option("--suite", o->lib.suite, "calibration suite (JSONL)")->required();
                       sub.add_option("--layers", o->lib.layers,
                                      "layers to record: 0-3, 1,5,9 or all (default: first 4 MoE layers)");
                       sub.add_option("--max-tokens-per-prompt", o->lib.max_tokens_per_prompt,
                                      "truncate each prompt (default 256)")
                           ->check(CLI::Range(1, 1 << 20));
                       sub.add_option("--topm", o->lib.topm,
                                      "experts kept per token for planning (default 4 × top-k)");
                       sub.add_option("-j,--jobs", o->jobs, "compute threads (default: all cores)")
                           ->check(CLI::Range(1, 1024));
                       sub.add_option("-o,--out", o->out, "profile.json to write")->required();
                       sub.add_flag("--json", o->json, "print a JSON summary");
                       return [o] { return RunProfile(*o); };
                     },
                     "run the model unmasked over a calibration suite; record gate statistics"});

}  // namespace
}  // namespace moedist::cli
