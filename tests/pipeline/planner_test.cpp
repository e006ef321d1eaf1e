#include "pipeline/planner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "pipeline/overlay_select.h"
#include "pipeline/partition_search.h"
#include "planted_profile_testutil.h"

namespace moedist {
namespace {

using testing_util::kGeneralist;
using testing_util::MakePlantedProfile;
using testing_util::PlantedSpec;

namespace fs = std::filesystem;

TEST(ProfileAccumulator, SelectionCountsSumToTokensTimesTopK) {
  GateProfile p = MakePlantedProfile({});
  for (const auto& l : p.layers) {
    uint64_t sum = std::accumulate(l.selection_count.begin(), l.selection_count.end(), 0ull);
    EXPECT_EQ(sum, p.tokens * p.top_k) << "layer " << l.layer;
    double mass = std::accumulate(l.gate_mass.begin(), l.gate_mass.end(), 0.0);
    EXPECT_NEAR(mass, static_cast<double>(p.tokens), 1e-3 * p.tokens);
    uint64_t pairs = std::accumulate(l.coactivation.begin(), l.coactivation.end(), 0ull);
    EXPECT_EQ(pairs, p.tokens * p.top_k * (p.top_k - 1));  // ordered pairs
  }
  EXPECT_EQ(p.tokens, 4u * 12 * 24);
}

TEST(Overlay, GeneralistLandsInTheOverlay) {
  GateProfile p = MakePlantedProfile({});
  for (const auto& l : p.layers) {
    std::vector<int> overlay = SelectOverlay(l, p.num_experts, 1);
    ASSERT_EQ(overlay.size(), 1u);
    EXPECT_EQ(overlay[0], kGeneralist) << "layer " << l.layer;
  }
  PlanOptions o;
  o.groups = 2;
  o.overlay = 2;
  o.min_experts = 0;
  auto r = MakePlan(p, "planted", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const auto& [layer, lp] : r->plan.layers) {
    EXPECT_NE(std::find(lp.overlay.begin(), lp.overlay.end(), kGeneralist), lp.overlay.end());
  }
}

// The generalist is hot in every domain; a domain-cluster expert that is even hotter overall
// but only in one domain must lose the overlay slot to it.
TEST(Overlay, BreadthBeatsConcentratedMass) {
  LayerGateProfile l;
  l.gate_mass = {10, 30, 1, 1};
  l.domain_mass["a"] = {5, 30, 0.5, 0.5};
  l.domain_mass["b"] = {5, 0, 0.5, 0.5};
  EXPECT_EQ(SelectOverlay(l, 4, 1), std::vector<int>{0});
}

TEST(Placement, CapturesStrictlyMoreThanBaselinesOnHeldOutPrompts) {
  GateProfile planning = MakePlantedProfile({});
  PlantedSpec heldout_spec;
  heldout_spec.seed = 99;
  heldout_spec.prompts_per_domain = 6;
  GateProfile heldout = MakePlantedProfile(heldout_spec);
  std::map<int, std::vector<int>> overlay;
  for (const auto& l : planning.layers) overlay[l.layer] = SelectOverlay(l, 32, 1);
  PlacementOptions placed_only;
  placed_only.worst_node_weight = 0;
  const ExpertPlan placement = PlacementPlan(planning, 2, overlay, placed_only);
  const ExpertPlan contiguous = ContiguousPlan(planning, 2, overlay);
  const ExpertPlan snake = SnakePlan(planning, 2, overlay);
  ASSERT_TRUE(CheckPlan(placement, 0, false).ok());
  const double pl = SummariseCapture(heldout, placement).mean;
  const double co = SummariseCapture(heldout, contiguous).mean;
  const double sn = SummariseCapture(heldout, snake).mean;
  EXPECT_GT(pl, co + 0.02) << "placement " << pl << " contiguous " << co;
  EXPECT_GT(pl, sn + 0.02) << "placement " << pl << " snake " << sn;
  // The planted clusters: in each layer, every domain's cluster sits in one group, except for
  // at most one expert that equal group sizes force across (31 experts into 16 + 15).
  for (const auto& [layer, lp] : placement.layers) {
    for (int d = 0; d < 4; ++d) {
      std::vector<int> members(2, 0);
      for (int g = 0; g < 2; ++g) {
        for (int e : lp.groups[g]) {
          if (e != kGeneralist && e % 4 == (d + layer) % 4) members[g]++;
        }
      }
      EXPECT_LE(std::min(members[0], members[1]), 1) << "layer " << layer << " domain " << d;
    }
  }
}

// The default objective weighs the worst node serving every prompt against placed sessions: the
// plan kept scores at least as well as every baseline on the planning prompts, and trades
// placed-session mass for a worst node no weaker than the specialist layout's.
TEST(Placement, DefaultObjectiveScoresAtLeastEveryBaseline) {
  GateProfile planning = MakePlantedProfile({});
  std::map<int, std::vector<int>> overlay;
  for (const auto& l : planning.layers) overlay[l.layer] = SelectOverlay(l, 32, 1);
  const PlacementOptions defaults;
  ASSERT_GT(defaults.worst_node_weight, 0.0);
  auto score = [&](const ExpertPlan& plan) {
    const CaptureSummary s = SummariseCapture(planning, plan);
    return (1 - defaults.worst_node_weight) * s.mean +
           defaults.worst_node_weight * s.worst_group_all;
  };
  const ExpertPlan placement = PlacementPlan(planning, 2, overlay);
  ASSERT_TRUE(CheckPlan(placement, 0, false).ok());
  EXPECT_EQ(placement.strategy, "placement");
  const double pl = score(placement);
  for (const ExpertPlan& baseline :
       {ContiguousPlan(planning, 2, overlay), ModuloPlan(planning, 2, overlay),
        SnakePlan(planning, 2, overlay)}) {
    EXPECT_GE(pl, score(baseline) - 1e-12) << baseline.strategy;
  }
  PlacementOptions placed_only;
  placed_only.worst_node_weight = 0;
  const ExpertPlan specialist = PlacementPlan(planning, 2, overlay, placed_only);
  const CaptureSummary a = SummariseCapture(planning, placement);
  const CaptureSummary b = SummariseCapture(planning, specialist);
  EXPECT_GT(pl, score(specialist));
  EXPECT_GE(a.worst_group_all, b.worst_group_all);
  EXPECT_LE(a.mean, b.mean + 1e-12);
  ASSERT_EQ(a.group_mean_all.size(), 2u);
  EXPECT_DOUBLE_EQ(a.worst_group_all, std::min(a.group_mean_all[0], a.group_mean_all[1]));
}

TEST(Plan, ViabilityRefusesSmallGroupsUnlessForced) {
  GateProfile p = MakePlantedProfile({});  // 32 experts, top-4: minimum 16
  PlanOptions o;
  o.groups = 4;  // 8 per group
  auto r = MakePlan(p, "planted", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("layer 0: group 0"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("viable minimum 16"), std::string::npos);
  o.force = true;
  EXPECT_TRUE(MakePlan(p, "planted", o).ok());
  o.groups = 2;
  o.force = false;
  EXPECT_TRUE(MakePlan(p, "planted", o).ok());
}

TEST(Plan, BadRequestsAreClearErrors) {
  GateProfile p = MakePlantedProfile({});
  PlanOptions o;
  o.groups = 33;
  auto r = MakePlan(p, "planted", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exceeds the 32 experts"), std::string::npos);
  o.groups = 2;
  o.overlay = 16;  // groups would be 8 each
  r = MakePlan(p, "planted", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not smaller than a group"), std::string::npos);
  o.overlay = 0;
  o.strategy = "random";
  r = MakePlan(p, "planted", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown --strategy"), std::string::npos);
}

class CustomAssign : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::temp_directory_path() / ("moedist-assign-" + std::to_string(::getpid()) + ".json");
  }
  void TearDown() override { fs::remove(path_); }
  Result<PlanResult> Plan(const std::string& json) {
    std::ofstream(path_) << json;
    PlanOptions o;
    o.groups = 2;
    o.strategy = "custom";
    o.assign_path = path_.string();
    o.min_experts = 0;
    return MakePlan(p_, "planted", o);
  }
  static std::string Range(int from, int to) {
    std::string s;
    for (int e = from; e < to; ++e) s += (s.empty() ? "" : ",") + std::to_string(e);
    return s;
  }
  GateProfile p_ = MakePlantedProfile({});
  fs::path path_;
};

TEST_F(CustomAssign, AcceptsAValidAssignment) {
  auto r = Plan("{\"groups\": [[" + Range(0, 15) + "], [" + Range(15, 30) +
                "]], \"overlay\": [30, 31]}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->plan.NodeExperts(0, 1).size(), 17u);
}

TEST_F(CustomAssign, RefusesMissingAndDuplicatedExperts) {
  auto r =
      Plan("{\"groups\": [[" + Range(0, 15) + "], [" + Range(15, 30) + "]], \"overlay\": [30]}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("expert 31 is in no group"), std::string::npos)
      << r.status().message();
  r = Plan("{\"groups\": [[" + Range(0, 16) + "], [" + Range(15, 32) + "]]}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("expert 15 is used twice"), std::string::npos)
      << r.status().message();
  r = Plan("{\"groups\": [[" + Range(0, 16) + "], [" + Range(16, 32) + "]], \"extra\": 1}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown field \"extra\""), std::string::npos);
  r = Plan("{\"groups\": [[" + Range(0, 16) + "], [" + Range(16, 31) + ",40]]}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("40 is not an expert id"), std::string::npos);
}

// "profiled" that is not a boolean threw nlohmann's type_error out of PlanFromAssignmentJson,
// which `plan --strategy custom` does not catch (found while writing plan_fuzz).
TEST_F(CustomAssign, RefusesProfiledThatIsNotABoolean) {
  auto r = Plan("{\"groups\": [[" + Range(0, 16) + "], [" + Range(16, 32) +
                "]], \"profiled\": \"yes\"}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("expected true or false"), std::string::npos)
      << r.status().message();
}

TEST(GateProfileFile, RoundTripsThroughJsonAndSidecar) {
  GateProfile p = MakePlantedProfile({});
  const fs::path path =
      fs::temp_directory_path() / ("moedist-profile-" + std::to_string(::getpid()) + ".json");
  ASSERT_TRUE(WriteGateProfile(p, path.string()).ok());
  auto back = ReadGateProfile(path.string());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->tokens, p.tokens);
  EXPECT_EQ(back->prompts.size(), p.prompts.size());
  ASSERT_EQ(back->layers.size(), p.layers.size());
  for (size_t i = 0; i < p.layers.size(); ++i) {
    EXPECT_EQ(back->layers[i].selection_count, p.layers[i].selection_count);
    EXPECT_EQ(back->layers[i].topm_experts, p.layers[i].topm_experts);
    EXPECT_EQ(back->layers[i].prompt_mass, p.layers[i].prompt_mass);
    EXPECT_EQ(back->layers[i].coactivation, p.layers[i].coactivation);
  }
  const std::string csv = RankingCsv(*back, 0);
  EXPECT_EQ(csv.rfind("# ", 0), 0u);
  EXPECT_NE(csv.find("expert_id,gate_mass,mass_pct,selection_count\n5,"), std::string::npos)
      << csv.substr(0, 300);  // the generalist is hottest
  fs::remove(path);
  fs::remove(path.string() + ".arrays.safetensors");
}

}  // namespace
}  // namespace moedist
