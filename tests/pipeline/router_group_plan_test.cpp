// plan with a grouped top-k router (router_group_plan.h): every strategy gives each node whole
// router groups (and an overlay of whole groups), the grouped profile scores a whole-group plan
// exactly as the expert-level profile does, overlays that cannot be whole or even are refused
// saying which values work, and a plan made this way for the hf-tiny DeepSeek-V3 fixture packs
// into sliced nodes that a node GGUF can express.
#include "pipeline/router_group_plan.h"

#include <gtest/gtest.h>

#include "pack_fixture_testutil.h"
#include "pipeline/captured_mass.h"
#include "pipeline/pack_gguf_nodes.h"
#include "pipeline/planner.h"
#include "planted_profile_testutil.h"

namespace moedist {
namespace {

using testing_util::MakePlantedProfile;
using testing_util::PlantedSpec;

// 32 experts in 8 router groups of 4, 4 kept per token.
GateProfile GroupedProfile(int experts = 32, int router_groups = 8,
                           std::vector<int> layers = {0, 1}) {
  PlantedSpec spec;
  spec.experts = experts;
  spec.layers = std::move(layers);
  GateProfile p = MakePlantedProfile(spec);
  p.router_groups = router_groups;
  p.router_groups_used = router_groups / 2;
  return p;
}

// Every group and the overlay of every layer is a union of whole router groups.
void ExpectWholeRouterGroups(const ExpertPlan& plan, int group_size) {
  for (const auto& [layer, lp] : plan.layers) {
    std::vector<std::vector<int>> sets = lp.groups;
    sets.push_back(lp.overlay);
    for (const std::vector<int>& set : sets) {
      ASSERT_EQ(set.size() % group_size, 0u) << "layer " << layer;
      for (size_t i = 0; i < set.size(); i += group_size) {
        EXPECT_EQ(set[i] % group_size, 0) << "layer " << layer;
        for (int j = 1; j < group_size; ++j) EXPECT_EQ(set[i + j], set[i] + j) << "layer " << layer;
      }
    }
  }
}

TEST(RouterGroupPlan, EveryStrategyKeepsRouterGroupsWhole) {
  const GateProfile p = GroupedProfile();
  for (const char* strategy : {"contiguous", "modulo", "snake", "placement"}) {
    for (auto [groups, overlay] : {std::pair{2, 0}, std::pair{4, 0}, std::pair{2, 8}}) {
      SCOPED_TRACE(fmt::format("{} groups {} overlay {}", strategy, groups, overlay));
      PlanOptions o;
      o.strategy = strategy;
      o.groups = groups;
      o.overlay = overlay;
      o.force = true;
      auto r = MakePlan(p, "planted", o);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->plan.num_experts, 32);
      EXPECT_EQ(r->plan.layers.begin()->second.overlay.size(), size_t(overlay));
      ExpectWholeRouterGroups(r->plan, 4);
      EXPECT_TRUE(CheckPlan(r->plan, 0, true).ok());
    }
  }
}

TEST(RouterGroupPlan, GroupedProfileScoresWholeGroupPlansLikeTheExpertProfile) {
  const GateProfile p = GroupedProfile();
  const GateProfile units = RouterGroupProfile(p);
  ASSERT_EQ(units.num_experts, 8);
  std::map<int, std::vector<int>> no_overlay;
  const ExpertPlan unit_plan = PlacementPlan(units, 2, no_overlay);
  const ExpertPlan plan = ExpandRouterGroupPlan(unit_plan, p);
  const CaptureSummary a = SummariseCapture(units, unit_plan);
  const CaptureSummary b = SummariseCapture(p, plan);
  EXPECT_NEAR(a.mean, b.mean, 1e-9);
  EXPECT_NEAR(a.min, b.min, 1e-9);
  EXPECT_GT(b.mean, 0.0);
  double mass = 0, unit_mass = 0;
  for (double m : p.layers[0].gate_mass) mass += m;
  for (double m : units.layers[0].gate_mass) unit_mass += m;
  EXPECT_NEAR(mass, unit_mass, 1e-6 * mass);
}

TEST(RouterGroupPlan, OverlaysThatCannotBeWholeOrEvenAreRefusedSayingWhatWorks) {
  const GateProfile p = GroupedProfile();
  PlanOptions o;
  o.strategy = "contiguous";
  o.groups = 2;
  o.overlay = 3;
  auto r = MakePlan(p, "planted", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("multiple of 4"), std::string::npos) << r.status().message();
  o.overlay = 4;  // 7 router groups left for 2 nodes
  r = MakePlan(p, "planted", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("node counts that can: 1, 7"), std::string::npos)
      << r.status().message();
  // Opting out plans experts one by one.
  o.split_router_groups = true;
  o.force = true;
  r = MakePlan(p, "planted", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->plan.layers.begin()->second.overlay.size(), 4u);
}

TEST(RouterGroupPlan, DeepSeekFixturePlanPacksIntoSlicedNodesAGgufCanExpress) {
  const std::string fixture = pack_testing::FixtureDir("deepseek_v3");
  auto ckpt = Checkpoint::Open(fixture);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  const ModelConfig& config = (*ckpt)->config();
  ASSERT_GT(config.routing.n_group, 1);
  GateProfile p =
      GroupedProfile(config.routing.num_experts, config.routing.n_group, config.MoeLayers());
  p.top_k = config.routing.top_k;
  p.router_groups_used = config.routing.topk_group;
  PlanOptions o;
  o.groups = 2;
  o.force = true;
  auto r = MakePlan(p, "planted", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectWholeRouterGroups(r->plan, config.routing.num_experts / config.routing.n_group);

  pack_testing::TempDir tmp;
  const std::string dist = tmp.Sub("dist");
  auto report = PackRelease(pack_testing::MakeRequest(fixture, r->plan, dist));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  for (const NodeInfo& n : report->nodes) {
    EXPECT_EQ(n.mode, NodeMode::kSlice) << n.node << ": " << n.mode_reason;
  }
  EXPECT_TRUE(CheckNodesExpressibleAsGguf(fixture, report->nodes).ok());
}

}  // namespace
}  // namespace moedist
