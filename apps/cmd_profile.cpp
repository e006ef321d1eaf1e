// moedist profile CKPT --suite FILE [--layers SPEC] [--max-tokens-per-prompt N] [-j N]
//                 [--max-rss BYTES] [--stream-layers] [--imatrix FILE] -o profile.json [--json]
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

#include "apps/command_registry.h"
#include "core/atomic_file.h"
#include "core/byte_size.h"
#include "core/json_strict.h"
#include "formats/imatrix_gguf.h"
#include "pipeline/gate_profiler.h"

namespace moedist::cli {
namespace {

struct ProfileCliOptions {
  ProfileOptions lib;
  std::string max_rss;  // "2G"; parsed by ParseByteSize
  std::string out;
  std::string imatrix_out;  // --imatrix FILE
  Imatrix imatrix;
  int jobs = 0;
  bool json = false;
};

void PrintLayerProgress(const ProfileLayerProgress& p) {
  if (p.layer < 0) {
    fmt::print(stderr, "profile: layer by layer, {} layers, {} tokens; estimated peak {}\n",
               p.layers_total, p.tokens, FormatByteSize(p.estimate_bytes));
    return;
  }
  fmt::print(stderr, "profile: layer {} done ({}/{}), {:.1f} s, RSS {}, peak {}\n", p.layer,
             p.layers_done, p.layers_total, p.seconds, FormatByteSize(p.rss_bytes),
             FormatByteSize(p.peak_bytes));
}

int RunProfile(ProfileCliOptions& o) {
  if (o.jobs > 0) ::setenv("MOEDIST_THREADS", std::to_string(o.jobs).c_str(), 1);
  if (!o.max_rss.empty()) {
    auto limit = ParseByteSize(o.max_rss, "--max-rss");
    if (!limit.ok()) return ReportError("profile", limit.status());
    if (*limit == 0) {
      return ReportError("profile", Status::InvalidArgument("--max-rss must be larger than 0"));
    }
    o.lib.max_rss = *limit;
  }
  if (!o.imatrix_out.empty()) o.lib.imatrix = &o.imatrix;
  o.lib.layer_progress = PrintLayerProgress;
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
  if (st.ok() && !o.imatrix_out.empty()) st = WriteImatrixFile(o.imatrix_out, o.imatrix);
  if (!st.ok()) return ReportError("profile", st);
  const ProfileExecution& ex = profile->execution;
  nlohmann::json summary = {{"profile", o.out},
                            {"prompts", profile->prompts.size()},
                            {"tokens", profile->tokens},
                            {"layers", nlohmann::json::array()},
                            {"execution",
                             {{"mode", ex.mode},
                              {"max_rss_bytes", ex.max_rss},
                              {"estimated_peak_bytes", ex.estimated_peak},
                              {"peak_rss_bytes", ex.peak_rss}}}};
  if (!o.imatrix_out.empty()) {
    summary["imatrix"] = {{"path", o.imatrix_out}, {"entries", o.imatrix.entries.size()}};
  }
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
    if (!o.imatrix_out.empty()) {
      fmt::print("wrote importance matrix {} ({} weight matrices)\n", o.imatrix_out,
                 o.imatrix.entries.size());
    }
    fmt::print("{}: peak RSS {} (estimated {}{})\n", ex.mode, FormatByteSize(ex.peak_rss),
               FormatByteSize(ex.estimated_peak),
               ex.max_rss > 0 ? ", limit " + FormatByteSize(ex.max_rss) : std::string());
    for (const auto& l : summary["layers"]) {
      fmt::print(
          "layer {:>3}: hottest expert {:>4} holds {:5.1f}% of gate mass; top 8 hold {:5.1f}%\n",
          l["layer"].get<int>(), l["hottest_expert"].get<int>(),
          100 * l["hottest_share"].get<double>(), 100 * l["top8_share"].get<double>());
    }
  }
  return kExitOk;
}

Registrar registrar(
    {"profile", 20,
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
       sub.add_option("--max-rss", o->max_rss,
                      "resident memory limit (512M, 2G): plan the run to fit, layer "
                      "by layer if the whole model would not; refuse if it cannot");
       sub.add_flag("--stream-layers", o->lib.stream_layers,
                    "run all prompts through one layer at a time, holding one "
                    "layer's weights");
       sub.add_option("-j,--jobs", o->jobs, "compute threads (default: all cores)")
           ->check(CLI::Range(1, 1024));
       sub.add_option("--imatrix", o->imatrix_out,
                      "also write llama.cpp's importance matrix (imatrix GGUF) of every layer "
                      "to FILE, for pack --imatrix or llama-quantize --imatrix");
       sub.add_option("-o,--out", o->out, "profile.json to write")->required();
       sub.add_flag("--json", o->json, "print a JSON summary");
       return [o] { return RunProfile(*o); };
     },
     "run the model unmasked over a calibration suite; record gate statistics"});

}  // namespace
}  // namespace moedist::cli
