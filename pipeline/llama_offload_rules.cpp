#include "pipeline/llama_offload_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <tuple>

namespace moedist {
namespace {

// llama.cpp's own pattern for expert tensors (common/common.h LLM_FFN_EXPS_REGEX, used by
// --cpu-moe and --n-cpu-moe), so the rules match what those flags match.
constexpr const char* kExpsPattern = R"(\.ffn_(up|down|gate|gate_up)_(ch|)exps)";

double SelectionsOf(const LayerGateProfile& lp) {
  double s = 0;
  for (uint64_t c : lp.selection_count) s += static_cast<double>(c);
  return s;
}

int ExpertsFor80(const LayerTiers& lt) {
  for (const MassTier& m : lt.overall) {
    if (m.percent == 80) return static_cast<int>(m.experts.size());
  }
  return 0;
}

std::vector<std::string> RuleArgs(const std::vector<int>& layers, const std::string& device) {
  std::vector<std::string> args;
  if (!layers.empty()) {
    std::string alt;
    for (int l : layers) alt += (alt.empty() ? "" : "|") + std::to_string(l);
    args.push_back("-ot");
    args.push_back(fmt::format(R"(blk\.({}){}={})", alt, kExpsPattern, device));
  }
  // Every other layer's experts stay in RAM; first match wins, so this comes last.
  args.push_back("-ot");
  args.push_back(fmt::format("{}=CPU", kExpsPattern));
  return args;
}

}  // namespace

Result<OffloadPlan> PlanLlamaOffload(const HotnessTiers& tiers, const GateProfile& calibration,
                                     uint64_t gpu_bytes, const std::string& device) {
  if (device.empty() || device.find_first_of(",= '") != std::string::npos) {
    return Status::InvalidArgument(
        "device \"{}\": expected a llama.cpp buffer type name such as CUDA0", device);
  }
  OffloadPlan plan{.budget_bytes = gpu_bytes};
  double total = 0;
  for (const LayerGateProfile& lp : calibration.layers) total += SelectionsOf(lp);
  for (const LayerTiers& lt : tiers.layers) {
    const LayerGateProfile* lp = calibration.FindLayer(lt.layer);
    if (lp == nullptr)
      return Status::FailedPrecondition("layer {} is not in the profile", lt.layer);
    LayerOffload lo{
        .layer = lt.layer,
        .bytes = std::accumulate(lt.expert_bytes.begin(), lt.expert_bytes.end(), uint64_t{0}),
        .selections = total > 0 ? SelectionsOf(*lp) / total : 0,
        .experts_80 = ExpertsFor80(lt)};
    lo.per_gib = lo.bytes ? lo.selections / (static_cast<double>(lo.bytes) / (1ull << 30)) : 0;
    plan.ranked.push_back(lo);
  }
  std::stable_sort(plan.ranked.begin(), plan.ranked.end(),
                   [](const LayerOffload& a, const LayerOffload& b) {
                     return std::tie(b.per_gib, a.layer) < std::tie(a.per_gib, b.layer);
                   });
  std::vector<int> chosen;
  for (LayerOffload& lo : plan.ranked) {
    if (plan.bytes + lo.bytes > gpu_bytes) continue;
    lo.on_gpu = true;
    plan.bytes += lo.bytes;
    plan.selections += lo.selections;
    chosen.push_back(lo.layer);
  }
  std::sort(chosen.begin(), chosen.end());
  plan.args = RuleArgs(chosen, device);
  return plan;
}

std::string OffloadShellLine(const OffloadPlan& plan) {
  std::string line;
  for (const std::string& a : plan.args) {
    if (!line.empty()) line += ' ';
    line += a.starts_with("-") ? a : "'" + a + "'";
  }
  return line;
}

nlohmann::json OffloadPlanToJson(const OffloadPlan& plan) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerOffload& lo : plan.ranked) {
    layers.push_back({{"layer", lo.layer},
                      {"bytes", lo.bytes},
                      {"selections", lo.selections},
                      {"selections_per_gib", lo.per_gib},
                      {"experts_for_80_percent", lo.experts_80},
                      {"on_gpu", lo.on_gpu}});
  }
  return {{"budget_bytes", plan.budget_bytes},
          {"bytes", plan.bytes},
          {"selections", plan.selections},
          {"layers", layers},
          {"args", plan.args},
          {"shell", OffloadShellLine(plan)}};
}

}  // namespace moedist
