// libFuzzer target: ReadPlanFile (plan.json, docs/formats/plan.md) on arbitrary bytes, written
// to a scratch file first (the reader only takes a path). Any input must give a plan or an
// error, without allocating in proportion to a number in the file. An accepted plan is what
// pack and place rely on: at least one MoE layer, 1 <= top_k <= num_experts, num_groups groups
// in every layer, each expert in exactly one group or the overlay, every node (group ∪ overlay)
// able to route top_k experts; written back as plan.json it reads as the same partition.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/expert_plan.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using moedist::fuzz::Fail;

void CheckAccepted(const moedist::ExpertPlan& plan) {
  if (plan.layers.empty()) Fail("plan without layers accepted");
  if (plan.num_experts < 1 || plan.top_k < 1 || plan.top_k > plan.num_experts) {
    Fail("num_experts / top_k out of range accepted");
  }
  if (plan.num_groups < 1) Fail("plan without groups accepted");
  for (const auto& [layer, lp] : plan.layers) {
    if (static_cast<int>(lp.groups.size()) != plan.num_groups) Fail("group count differs");
    std::vector<int> seen(plan.num_experts, 0);
    for (int e : lp.overlay) ++seen.at(e);
    for (int g = 0; g < plan.num_groups; ++g) {
      for (int e : lp.groups[g]) ++seen.at(e);
      if (static_cast<int>(plan.NodeExperts(layer, g).size()) < plan.top_k) {
        Fail("node with fewer than top_k experts accepted");
      }
    }
    for (int n : seen) {
      if (n != 1) Fail("expert not held exactly once");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto dir = moedist::fuzz::ScratchDir("plan");
  const auto path = dir / "plan.json";
  moedist::fuzz::WriteFile(path, {reinterpret_cast<const char*>(data), size});
  auto plan = moedist::ReadPlanFile(path.string());
  if (!plan.ok()) return 0;
  CheckAccepted(*plan);
  const nlohmann::json j = {{"schema_version", 1},
                            {"num_experts", plan->num_experts},
                            {"top_k", plan->top_k},
                            {"strategy", plan->strategy},
                            {"layers", moedist::PlanLayersToJson(*plan)}};
  const auto again_path = dir / "rewritten.json";
  moedist::fuzz::WriteFile(again_path, j.dump());
  auto again = moedist::ReadPlanFile(again_path.string());
  if (!again.ok()) Fail("rewritten plan refused: " + again.status().ToString());
  if (moedist::PlanLayersToJson(*again) != moedist::PlanLayersToJson(*plan)) {
    Fail("rewritten plan differs");
  }
  return 0;
}
