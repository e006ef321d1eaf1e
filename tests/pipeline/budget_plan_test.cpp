// Budget mode of `plan` (budget_plan.h) on the trained example model: the configurations it
// weighs, their recipes and byte counts, and the measured choice — whole and unquantized when
// that fits (Δ exactly 0: the nodes are the checkpoint's bytes), the best measured candidate
// within the budget otherwise, a clear error when nothing fits. Also pack's use of the plan's
// recipe.
#include "pipeline/budget_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/json_strict.h"
#include "pack_fixture_testutil.h"
#include "pipeline/gate_profiler.h"
#include "pipeline/quantized_full_release.h"
#include "tests/test_dirs.h"

namespace moedist::pack_testing {
namespace {

namespace fs = std::filesystem;

std::string ExampleDir() {
  return std::string(moedist::test_dirs::SourceDir()) + "/examples/model/checkpoint";
}
std::string ExampleSuite() {
  return std::string(moedist::test_dirs::SourceDir()) + "/examples/calibration/calibration.jsonl";
}

const GateProfile& ExampleProfile() {
  static const GateProfile* profile = [] {
    ProfileOptions o;
    o.checkpoint = ExampleDir();
    o.suite = ExampleSuite();
    o.layers = "all";
    o.max_tokens_per_prompt = 64;
    auto p = RunGateProfile(o);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return new GateProfile(p.ok() ? *p : GateProfile{});
  }();
  return *profile;
}

// Small measurements so the suite stays quick: one prompt per domain, 32 tokens.
BudgetOptions SmallBudget(int nodes, uint64_t bytes) {
  BudgetOptions o;
  o.nodes = nodes;
  o.node_bytes = bytes;
  o.checkpoint_dir = ExampleDir();
  o.suite_path = ExampleSuite();
  o.measure = 2;
  o.measure_prompts = 9;
  o.measure_tokens = 32;
  o.place_tokens = 16;
  o.placement.swap_budget = 2000;
  o.standin_tokens = 32;
  return o;
}

int Rank(const std::vector<RecipeType>& order, const RecipeType& t) {
  return static_cast<int>(std::find(order.begin(), order.end(), t) - order.begin());
}

// MostProxies: the most proxies per group that fit in a node's experts, then the overlay.
TEST(BudgetProxies, MostProxiesFillTheSlotsWithProxiesFirst) {
  // examples/model64: 64 experts; 2 groups with an overlay of 12 are 26 + 12 = 38 per node.
  EXPECT_EQ(SplitExpertsPerNode(64, 2, 12, 0), 38);
  auto two = MostProxies(64, 2, 38);
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->proxies_per_group, 6);  // 32 + 6
  EXPECT_EQ(two->overlay, 0);
  auto four = MostProxies(64, 4, 38);
  ASSERT_TRUE(four.has_value());
  EXPECT_EQ(four->proxies_per_group, 7);  // 16 + 3 × 7 = 37, one slot left for the overlay
  EXPECT_EQ(four->overlay, 1);
  EXPECT_EQ(SplitExpertsPerNode(64, 4, 1, 7), 38);
  // No room for one proxy per group: a group alone fills the slots.
  EXPECT_FALSE(MostProxies(64, 2, 32).has_value());
  EXPECT_FALSE(MostProxies(64, 1, 64).has_value());
  // Never more proxies than a group has experts: 16 experts, 2 groups of 8, 40 slots.
  auto capped = MostProxies(16, 2, 40);
  ASSERT_TRUE(capped.has_value());
  EXPECT_EQ(capped->proxies_per_group, 8);
  // examples/model at 10 per node: 2 groups → 8 + 2; 4 groups → 4 + 3 × 2.
  EXPECT_EQ(MostProxies(16, 2, 10)->proxies_per_group, 2);
  EXPECT_EQ(MostProxies(16, 4, 10)->proxies_per_group, 2);
  EXPECT_EQ(MostProxies(16, 4, 10)->overlay, 0);
}

TEST(BudgetCandidates, EnumerationKeepsPrecisionsOrdered) {
  const auto trunk = BudgetTrunkTypes();
  const auto experts = BudgetExpertTypes();
  ASSERT_GE(experts.size(), 4u);
  EXPECT_EQ(experts.front(), RecipeType{});  // keep first
  const auto configs = EnumerateConfigs(4, 16, trunk, experts);
  int whole = 0, split2 = 0, split4 = 0;
  for (const CandidateConfig& c : configs) {
    EXPECT_LE(Rank(experts, c.trunk), Rank(experts, c.experts)) << c.Id();
    if (c.whole) {
      ++whole;
      EXPECT_EQ(c.groups, 1);
      continue;
    }
    EXPECT_EQ(4 % c.groups, 0) << c.Id();
    EXPECT_LE(Rank(experts, c.overlay_type), Rank(experts, c.experts)) << c.Id();
    EXPECT_LE(Rank(experts, c.experts) - Rank(experts, c.overlay_type), 1) << c.Id();
    (c.groups == 2 ? split2 : split4) += 1;
  }
  EXPECT_GT(whole, 0);
  EXPECT_EQ(split2, split4);  // the same precisions for every group count
  EXPECT_GT(split2, whole);   // each split precision also comes with a higher overlay
  // Three nodes: no split into 2 (3 is not a multiple of 2), only into 3.
  for (const CandidateConfig& c : EnumerateConfigs(3, 16, trunk, experts)) {
    EXPECT_TRUE(c.whole || c.groups == 3) << c.Id();
  }
}

TEST(BudgetCandidates, SensitivityAllocationKeepsTheTotalAndTheCap) {
  // Layer 2 costs most when restricted, layer 0 nothing: slots go where they help.
  const std::map<int, double> delta = {{0, 0.01}, {1, -0.1}, {2, -0.6}, {3, -0.3}};
  const auto a = AllocateOverlayBySensitivity(delta, 2, 16, 2);
  int total = 0;
  for (const auto& [layer, k] : a) {
    total += k;
    EXPECT_EQ((16 - k) % 2, 0) << "layer " << layer << ": unequal groups";
    EXPECT_LT(k, (16 - k) / 2) << "layer " << layer << ": overlay not smaller than a group";
  }
  EXPECT_EQ(total, 8);
  EXPECT_EQ(a.at(0), 0);
  EXPECT_EQ(a.at(2), 4);
  EXPECT_GE(a.at(2), a.at(3));
  EXPECT_GE(a.at(3), a.at(1));
  // A layer at the cap (an overlay smaller than a group: 4 of 16 with 2 groups) passes the rest
  // on.
  const auto capped = AllocateOverlayBySensitivity({{0, -1.0}, {1, -0.001}}, 3, 16, 2);
  EXPECT_EQ(capped.at(0), 4);
  EXPECT_EQ(capped.at(1), 2);
  // 15 experts in 2 groups: counts stay odd, so both groups stay equal.
  for (const auto& [layer, k] : AllocateOverlayBySensitivity(delta, 3, 15, 2)) {
    EXPECT_EQ((15 - k) % 2, 0) << layer;
  }
  // No layer costs anything: the uniform allocation.
  const auto flat = AllocateOverlayBySensitivity({{0, 0.0}, {1, 0.2}}, 3, 16, 2);
  EXPECT_EQ(flat.at(0), 3);
  EXPECT_EQ(flat.at(1), 3);
}

TEST(BudgetCandidates, RecipeGivesEachClassItsType) {
  auto q8 = ParseRecipeType("q8_0"), q4 = ParseRecipeType("q4_k"), q6 = ParseRecipeType("q6_k");
  ASSERT_TRUE(q8.ok() && q4.ok() && q6.ok());
  const CandidateConfig c{false, 2, 3, *q8, *q4, *q6};
  const PackRecipe r = CandidateRecipe(c);
  EXPECT_EQ(r.classes.at("attention"), *q8);
  EXPECT_EQ(r.classes.at("embedding"), *q8);
  EXPECT_EQ(r.classes.at("routed_expert"), *q4);
  EXPECT_EQ(r.classes.at("overlay"), *q6);
  EXPECT_EQ(r.classes.at("router_weight"), RecipeType{});
  EXPECT_EQ(r.classes.at("norm"), RecipeType{});
  // The recorded source parses back to the same recipe (plan.json → pack).
  auto back = ParseRecipe(r.source.dump(), "plan.json#recipe");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->classes, r.classes);
  EXPECT_EQ(CandidateConfig({true, 1, 0, *q8, *q4, *q4}).Id(), "whole t=q8_0 e=q4_k");
}

TEST(BudgetPlan, WholeUnquantizedWhenItFitsAndLosesNothing) {
  auto r = PlanToBudget(ExampleProfile(), "profile.json", SmallBudget(4, 64ull << 20));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const BudgetCandidate& c = r->candidates[r->chosen];
  EXPECT_TRUE(c.config.whole);
  EXPECT_EQ(c.config.trunk, RecipeType{});
  EXPECT_EQ(c.config.experts, RecipeType{});
  ASSERT_TRUE(c.measured.has_value());
  // The node is the checkpoint's own bytes: the same logits, Δ exactly 0.
  EXPECT_EQ(c.measured->quality.worst_node, 0.0);
  EXPECT_EQ(c.measured->quality.placed, 0.0);
  EXPECT_EQ(r->plan.plan.num_groups, 1);
  EXPECT_TRUE(RecipeKeepsEverything(r->recipe));
  // The prediction of bytes is close to the files pack wrote (headers are estimated).
  const double ratio = static_cast<double>(c.predicted.bytes) / c.measured->bytes;
  EXPECT_GT(ratio, 0.99);
  EXPECT_LT(ratio, 1.01);
  EXPECT_NE(r->reason.find("no split needed"), std::string::npos) << r->reason;
}

TEST(BudgetPlan, TightBudgetChoosesTheBestMeasuredCandidateThatFits) {
  const GateProfile& p = ExampleProfile();
  uint64_t expert_bytes = 0;
  for (const auto& [layer, sizes] : p.expert_bytes) {
    for (uint64_t b : sizes) expert_bytes += b;
  }
  // The trunk in bf16 plus 12.5% of the experts' bf16 bytes, with room for the node files.
  const uint64_t budget = p.trunk_bytes + expert_bytes / 8 + (512u << 10);
  BudgetOptions o = SmallBudget(4, budget);
  o.measure = 3;
  auto r = PlanToBudget(p, "profile.json", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GE(r->chosen, 0);
  EXPECT_GT(r->over_budget, 0);  // the unquantized whole model does not fit
  int measured = 0;
  bool whole_measured = false, split_measured = false;
  for (size_t i = 0; i < r->candidates.size(); ++i) {
    const BudgetCandidate& c = r->candidates[i];
    EXPECT_LE(c.predicted.bytes, budget) << c.config.Id();
    // Best predicted first, except the variants of the best split appended after measuring.
    if (i > 0 && !c.config.proxies && c.config.overlay_layers.empty()) {
      EXPECT_GE(r->candidates[i - 1].predicted.worst, c.predicted.worst);
    }
    if (!c.measured) continue;
    ++measured;
    (c.config.whole ? whole_measured : split_measured) = true;
    EXPECT_EQ(c.measured->node_bytes.size(), static_cast<size_t>(c.config.groups));
    if (!c.over_budget) {
      EXPECT_GE(r->candidates[r->chosen].measured->quality.worst_node,
                c.measured->quality.worst_node - o.tie_nats)
          << c.config.Id();
    }
    // The oracle takes each prompt's best node: at least placed sessions and every node.
    EXPECT_LE(c.measured->quality.worst_node, c.measured->quality.oracle + 1e-12);
    EXPECT_LE(c.measured->quality.placed, c.measured->quality.oracle + 1e-12);
  }
  EXPECT_GE(measured, 3);
  EXPECT_TRUE(whole_measured);
  EXPECT_TRUE(split_measured);
  // The best measured split was measured again with a sensitivity-driven overlay of the same
  // total, unless the allocation came out uniform.
  ASSERT_FALSE(r->sensitivity_of.empty());
  EXPECT_EQ(r->layer_sensitivity.size(), p.layers.size());
  for (const BudgetCandidate& c : r->candidates) {
    if (c.config.overlay_layers.empty()) continue;
    EXPECT_TRUE(c.measured.has_value()) << c.config.Id();
    int total = 0;
    for (const auto& [layer, k] : c.config.overlay_layers) total += k;
    EXPECT_EQ(total, c.config.overlay * static_cast<int>(p.layers.size())) << c.config.Id();
  }
  EXPECT_LE(r->candidates[r->chosen].measured->bytes, budget);
  // ... and again with proxy experts, for each group count the nodes allow, at its experts per
  // node: measured, about the same bytes.
  std::set<int> proxy_groups;
  int proxy_candidates = 0;
  for (const BudgetCandidate& c : r->candidates) {
    if (!c.config.proxies) continue;
    ++proxy_candidates;
    proxy_groups.insert(c.config.groups);
    EXPECT_EQ(o.nodes % c.config.groups, 0) << c.config.Id();
    ASSERT_TRUE(c.measured.has_value()) << c.config.Id() << ": " << c.measure_error;
    std::printf("[budget] %s: %llu bytes, worst node %+.4f, placed %+.4f\n", c.config.Id().c_str(),
                static_cast<unsigned long long>(c.measured->bytes), c.measured->quality.worst_node,
                c.measured->quality.placed);
    EXPECT_LE(c.measured->bytes, c.predicted.bytes + (64u << 10)) << c.config.Id();
    // It stands beside the measured split it was derived from: the same types, at least as
    // many experts per node.
    const int E = p.num_experts;
    const int mine = SplitExpertsPerNode(E, c.config.groups, c.config.overlay, c.config.proxies);
    bool base_found = false;
    for (const BudgetCandidate& b : r->candidates) {
      base_found |= !b.config.proxies && !b.config.whole && b.measured &&
                    b.config.experts == c.config.experts && b.config.trunk == c.config.trunk &&
                    SplitExpertsPerNode(E, b.config.groups, b.config.overlay, 0) >= mine;
    }
    EXPECT_TRUE(base_found) << c.config.Id();
  }
  EXPECT_EQ(proxy_candidates, static_cast<int>(proxy_groups.size()));  // one per group count

  // plan.json carries the chosen recipe, and pack resolves it when given no recipe file.
  TempDir tmp;
  const nlohmann::json j = BudgetPlanToJson(*r, p, "profile.json", o);
  ASSERT_TRUE(j.contains("budget") && j.contains("recipe"));
  EXPECT_EQ(j["budget"]["chosen"], r->candidates[r->chosen].config.Id());
  EXPECT_EQ(j["nodes"].size(), static_cast<size_t>(r->plan.plan.num_groups));
  const std::string plan_path = tmp.Sub("plan.json");
  std::ofstream(plan_path) << j.dump();
  std::string source;
  auto recipe = ResolvePackRecipe("", plan_path, &source);
  ASSERT_TRUE(recipe.ok()) << recipe.status().ToString();
  EXPECT_EQ(recipe->classes, r->recipe.classes);
  EXPECT_EQ(source, plan_path + "#recipe");
  auto plan = ReadPlanFile(plan_path);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->num_groups, r->plan.plan.num_groups);
}

TEST(BudgetPlan, NothingFitsNamesTheSmallestConfiguration) {
  auto r = PlanToBudget(ExampleProfile(), "profile.json", SmallBudget(4, 1u << 20));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no configuration fits 1.00 MiB"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("needs"), std::string::npos);
}

TEST(BudgetPlan, RefusesMissingInputsNamingThem) {
  BudgetOptions o = SmallBudget(4, 64ull << 20);
  o.checkpoint_dir = "/nonexistent/ckpt";
  auto r = PlanToBudget(ExampleProfile(), "profile.json", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/ckpt"), std::string::npos);
  o = SmallBudget(4, 64ull << 20);
  o.suite_path = "/nonexistent/suite.jsonl";
  r = PlanToBudget(ExampleProfile(), "profile.json", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--suite"), std::string::npos);
}

TEST(PackRecipeResolve, FileBeatsPlanAndKeepIsTheDefault) {
  TempDir tmp;
  const std::string plan_path = tmp.Sub("plan.json");
  std::ofstream(plan_path) << R"({"schema_version": 1, "recipe": {"default": "q8_0"}})";
  const std::string recipe_path = tmp.Sub("recipe.json");
  std::ofstream(recipe_path) << R"({"default": "q4_0"})";
  std::string source;
  auto from_file = ResolvePackRecipe(recipe_path, plan_path, &source);
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ(from_file->default_type.Name(), "q4_0");
  EXPECT_EQ(source, recipe_path);
  auto from_plan = ResolvePackRecipe("", plan_path, &source);
  ASSERT_TRUE(from_plan.ok());
  EXPECT_EQ(from_plan->default_type.Name(), "q8_0");
  std::ofstream(plan_path, std::ios::trunc) << R"({"schema_version": 1})";
  auto keep = ResolvePackRecipe("", plan_path, &source);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(keep->default_type, RecipeType{});
  EXPECT_TRUE(source.empty());
  std::ofstream(plan_path, std::ios::trunc) << R"({"recipe": {"default": "q9_9"}})";
  auto bad = ResolvePackRecipe("", plan_path, &source);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("plan.json#recipe"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace moedist::pack_testing
