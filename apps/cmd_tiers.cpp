// moedist tiers profile.json [--eval-profile EVAL] [--tier-bytes B] [--gguf FILE]
//               [--gpu-bytes B] [--device CUDA0] [--json]
// Hotness tiers of a gate profile (pipeline/hotness_tiers.h) and, with --gpu-bytes, llama.cpp
// `-ot` rules for that GPU budget (pipeline/llama_offload_rules.h). docs/commands/tiers.md.
#include <fmt/format.h>

#include "apps/command_registry.h"
#include "core/byte_size.h"
#include "core/json_strict.h"
#include "formats/gguf_reader.h"
#include "pipeline/gguf_expert_bytes.h"
#include "pipeline/hotness_tiers.h"
#include "pipeline/llama_offload_rules.h"

namespace moedist::cli {
namespace {

struct TiersCliOptions {
  std::string profile;
  std::string eval_profile;
  std::string gguf;
  std::string tier_bytes;
  std::string gpu_bytes;
  std::string device = "CUDA0";
  bool json = false;
};

std::string Pct(double v) {
  return fmt::format("{:.1f}%", 100 * v);
}

std::string Cover(const TierCoverage& cal, const std::optional<TierCoverage>& ev) {
  return fmt::format("{} / {}", Pct(cal.gate_mass), ev ? Pct(ev->gate_mass) : "-");
}

// Each domain's own tiers: experts per layer, and the share of that domain's gate mass they hold
// on the calibration and the eval suite (mean over layers).
void PrintDomainTiers(const HotnessTiers& t) {
  const auto& first = t.layers.front().domains;
  if (first.empty()) return;
  fmt::print(
      "per domain: its own tiers (experts per layer; mean share of the domain's mass, "
      "calibration / eval)\n");
  for (const auto& [domain, unused] : first) {
    fmt::print("{:<16}", domain);
    for (size_t i = 0; i < t.percents.size(); ++i) {
      std::string sizes;
      double cal = 0, ev = 0;
      bool has_eval = true;
      for (const LayerTiers& lt : t.layers) {
        const DomainTier& d = lt.domains.at(domain)[i];
        sizes += (sizes.empty() ? "" : ",") + std::to_string(d.experts.size());
        cal += d.calibration / t.layers.size();
        if (d.eval) ev += *d.eval / t.layers.size();
        has_eval = has_eval && d.eval.has_value();
      }
      fmt::print("  {}%: {} {} / {}", t.percents[i], sizes, Pct(cal), has_eval ? Pct(ev) : "-");
    }
    fmt::print("\n");
  }
}

void PrintTiers(const HotnessTiers& t) {
  fmt::print(
      "per layer: experts holding each share of the calibration gate mass, and what they "
      "cover (calibration / eval)\n");
  fmt::print("{:<6}", "layer");
  for (int pc : t.percents) fmt::print(" {:>11} {:>15}", fmt::format("{}% tier", pc), "cal / eval");
  fmt::print("\n");
  for (const LayerTiers& lt : t.layers) {
    fmt::print("{:<6}", lt.layer);
    for (const MassTier& m : lt.overall) {
      fmt::print(" {:>11} {:>15}", fmt::format("{} experts", m.experts.size()),
                 Cover(m.calibration, m.eval));
    }
    fmt::print("\n");
  }
  PrintDomainTiers(t);
  if (!t.resident) return;
  const ResidentSet& r = *t.resident;
  size_t n = 0;
  for (const auto& [layer, e] : r.experts) n += e.size();
  fmt::print("resident set for {} ({} bytes of {} source): {} experts, {} bytes\n",
             FormatByteSize(r.budget_bytes), r.budget_bytes, t.bytes_source, n, r.bytes);
  fmt::print("  gate mass   calibration {}  eval {}\n", Pct(r.calibration.gate_mass),
             r.eval ? Pct(r.eval->gate_mass) : "-");
  fmt::print("  selections  calibration {}  eval {}\n", Pct(r.calibration.selections),
             r.eval ? Pct(r.eval->selections) : "-");
  // Per domain, where a hot list that fits one kind of prompt and not another shows.
  for (const auto* c : {&r.calibration, r.eval ? &*r.eval : nullptr}) {
    if (c == nullptr || c->domains.empty()) continue;
    fmt::print("  gate mass per {} domain:", c == &r.calibration ? "calibration" : "eval");
    for (const auto& [domain, share] : c->domains) fmt::print(" {} {}", domain, Pct(share));
    fmt::print("\n");
  }
}

void PrintOffload(const OffloadPlan& p) {
  fmt::print("llama.cpp: whole layers' expert tensors for a GPU budget of {} ({} bytes)\n",
             FormatByteSize(p.budget_bytes), p.budget_bytes);
  fmt::print("{:<6} {:>12} {:>11} {:>12} {:>10}  {}\n", "layer", "bytes", "selections", "per GiB",
             "80% tier", "placed");
  for (const LayerOffload& l : p.ranked) {
    fmt::print("{:<6} {:>12} {:>11} {:>12.3f} {:>10}  {}\n", l.layer, l.bytes, Pct(l.selections),
               l.per_gib, l.experts_80, l.on_gpu ? "GPU" : "CPU");
  }
  fmt::print("GPU holds {} bytes serving {} of the measured top-k selections\n", p.bytes,
             Pct(p.selections));
  fmt::print("{}\n", OffloadShellLine(p));
}

Result<uint64_t> OptionalBytes(const std::string& text, const char* flag) {
  return text.empty() ? Result<uint64_t>(uint64_t{0}) : ParseByteSize(text, flag);
}

int Run(const TiersCliOptions& o) {
  auto profile = ReadGateProfile(o.profile);
  if (!profile.ok()) return ReportError("tiers", profile.status());
  TierOptions to;
  if (!o.tier_bytes.empty()) {
    auto b = ParseByteSize(o.tier_bytes, "--tier-bytes");
    if (!b.ok()) return ReportError("tiers", b.status());
    to.resident_bytes = *b;
  }
  if (!o.gguf.empty()) {
    auto file = GgufFile::Open(o.gguf);
    if (!file.ok()) return ReportError("tiers", file.status());
    auto bytes = GgufExpertBytes(**file, profile->num_experts);
    if (!bytes.ok()) return ReportError("tiers", bytes.status());
    to.expert_bytes = std::move(bytes).value();
    to.bytes_source = "gguf";
  }
  auto gpu = OptionalBytes(o.gpu_bytes, "--gpu-bytes");
  if (!gpu.ok()) return ReportError("tiers", gpu.status());
  auto tiers = ComputeHotnessTiers(*profile, to);
  if (!tiers.ok()) return ReportError("tiers", tiers.status());
  if (!o.eval_profile.empty()) {
    auto eval = ReadGateProfile(o.eval_profile);
    if (!eval.ok()) return ReportError("tiers", eval.status());
    Status st = AddEvalCoverage(*tiers, *eval, o.eval_profile);
    if (!st.ok()) return ReportError("tiers", st);
  }
  std::optional<OffloadPlan> offload;
  if (!o.gpu_bytes.empty()) {
    auto p = PlanLlamaOffload(*tiers, *profile, *gpu, o.device);
    if (!p.ok()) return ReportError("tiers", p.status());
    offload = std::move(p).value();
  }
  if (o.json) {
    nlohmann::json j = {{"tiers", HotnessTiersToJson(*tiers)}};
    if (offload) j["llama_cpp"] = OffloadPlanToJson(*offload);
    fmt::print("{}\n", DumpJsonStable(j));
    return kExitOk;
  }
  PrintTiers(*tiers);
  if (offload) PrintOffload(*offload);
  return kExitOk;
}

Registrar registrar(
    {"tiers", 35,
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<TiersCliOptions>();
       sub.add_option("profile", o->profile, "profile.json from moedist profile (calibration)")
           ->required();
       sub.add_option("--eval-profile", o->eval_profile,
                      "profile of the eval suite (moedist profile on it): coverage measured on "
                      "held-out prompts");
       sub.add_option("--tier-bytes", o->tier_bytes,
                      "bytes to keep resident (GPU or RAM), e.g. 8G: the experts to keep, "
                      "greedy by gate mass per byte across layers");
       sub.add_option("--gguf", o->gguf,
                      "price experts in this llama.cpp GGUF's bytes (the model you run) instead "
                      "of the checkpoint's");
       sub.add_option("--gpu-bytes", o->gpu_bytes,
                      "llama.cpp: GPU bytes for expert tensors; prints the -ot rules");
       sub.add_option("--device", o->device,
                      "llama.cpp buffer type of the GPU in the rules (default CUDA0)");
       sub.add_flag("--json", o->json, "print JSON");
       return [o] { return Run(*o); };
     },
     "hot experts per layer, a resident set for a byte budget, llama.cpp -ot rules"});

}  // namespace
}  // namespace moedist::cli
