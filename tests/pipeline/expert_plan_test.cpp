// ReadPlanFile on malformed plan.json files, one case per defect. Each was found reading the
// parser while writing plan_fuzz, which reproduces it (tests/fuzz/regressions/plan_fuzz/); each
// was accepted, undefined behaviour or an 8 GB allocation before.
#include "pipeline/expert_plan.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace moedist {
namespace {

namespace fs = std::filesystem;

struct BadPlan {
  const char* name;
  std::string json;
  const char* expect_in_message;
};

std::string PlanJson(const std::string& num_experts, const std::string& top_k,
                     const std::string& layers) {
  return R"({"schema_version": 1, "strategy": "custom", "num_experts": )" + num_experts +
         R"(, "top_k": )" + top_k + R"(, "layers": )" + layers + "}";
}

const std::string kTwoGroups = R"({"0": {"groups": [[0, 1, 2, 3], [4, 5, 6, 7]]}})";

Result<ExpertPlan> ReadPlanText(const std::string& json) {
  const fs::path path =
      fs::temp_directory_path() / ("moedist-plan-test-" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << json;
  auto plan = ReadPlanFile(path.string());
  fs::remove(path);
  return plan;
}

TEST(ReadPlanFile, AcceptsAValidPlan) {
  auto plan = ReadPlanText(PlanJson("8", "2", kTwoGroups));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->num_groups, 2);
  EXPECT_EQ(plan->NodeExperts(0, 1).size(), 4u);
}

// The rule for which proxies a node gets: it holds none of their members.
TEST(ExpertPlan, HoldsNoneOfTheOtherGroupsExperts) {
  ExpertPlan plan;
  plan.num_experts = 10;
  plan.num_groups = 2;
  plan.layers[0] = {{{0, 1, 2, 3}, {4, 5, 6, 7}}, {8, 9}, true};
  EXPECT_TRUE(plan.HoldsNone(0, 0, {4, 5}));
  EXPECT_TRUE(plan.HoldsNone(0, 1, {0, 3}));
  EXPECT_FALSE(plan.HoldsNone(0, 0, {3, 4}));  // one member is node 0's own
  EXPECT_FALSE(plan.HoldsNone(0, 1, {9}));     // the overlay is everywhere
}

TEST(ReadPlanFile, RefusesEachDefectWithAReason) {
  const BadPlan cases[] = {
      {"no layers", PlanJson("8", "2", "{}"), "no MoE layer"},
      {"num_experts sizes an 8 GB table", PlanJson("2000000000", "2", kTwoGroups), "out of range"},
      {"num_experts not an integer", PlanJson("1e300", "2", kTwoGroups), "out of range"},
      {"top_k 0", PlanJson("8", "0", kTwoGroups), "out of range"},
      {"top_k above num_experts", PlanJson("8", "9", kTwoGroups), "out of range"},
      {"profiled not a boolean",
       PlanJson("8", "2", R"({"0": {"groups": [[0, 1, 2, 3], [4, 5, 6, 7]], "profiled": 1}})"),
       "expected true or false"},
  };
  for (const BadPlan& c : cases) {
    auto plan = ReadPlanText(c.json);
    ASSERT_FALSE(plan.ok()) << c.name;
    EXPECT_NE(plan.status().message().find(c.expect_in_message), std::string::npos)
        << c.name << ": " << plan.status().message();
  }
}

}  // namespace
}  // namespace moedist
