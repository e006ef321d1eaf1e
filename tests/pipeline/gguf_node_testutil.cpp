#include "gguf_node_testutil.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "pack_fixture_testutil.h"
#include "pipeline/standin_plan.h"
#include "tests/test_dirs.h"

namespace moedist::gguf_testing {
namespace fs = std::filesystem;

std::vector<GgufCase> GgufCases(const std::string& scratch) {
  std::vector<GgufCase> cases;
  for (const std::string& f : pack_testing::Families()) {
    cases.push_back(
        {f, pack_testing::FixtureDir(f), KeepRecipe(), f == "deepseek_v3" || f == "olmoe"});
  }
  // DeepSeek-V3 without expert groups: routing depends only on each expert's own score, so a
  // sliced node is exact and llama.cpp's deepseek2 runs it.
  const fs::path flat = fs::path(scratch) / "deepseek_v3_flat";
  fs::create_directories(flat);
  for (const auto& e : fs::directory_iterator(pack_testing::FixtureDir("deepseek_v3"))) {
    if (e.path().filename() != "config.json")
      fs::copy_file(e.path(), flat / e.path().filename(), fs::copy_options::overwrite_existing);
  }
  auto cfg = nlohmann::json::parse(
      pack_testing::ReadAll(pack_testing::FixtureDir("deepseek_v3") + "/config.json"));
  cfg["n_group"] = 1;
  cfg["topk_group"] = 1;
  std::ofstream(flat / "config.json") << cfg.dump(2);
  cases.push_back({"deepseek_v3_flat", flat.string(), KeepRecipe(), false});
  // DeepSeek-V3 with its grouped router, split into whole router groups (0-1 | 2-3).
  cases.push_back({"deepseek_v3_groups", pack_testing::FixtureDir("deepseek_v3"), KeepRecipe(),
                   false, false, 2});
  // One node of all four router groups, more than topk_group 2: grouped top-k in the GGUF.
  cases.push_back({"deepseek_v3_whole", pack_testing::FixtureDir("deepseek_v3"), KeepRecipe(),
                   false, false, 1});

  const std::string example =
      std::string(moedist::test_dirs::SourceDir()) + "/examples/model/checkpoint";
  cases.push_back({"example", example, KeepRecipe(), false});
  auto q8 =
      ReadRecipeFile(std::string(moedist::test_dirs::SourceDir()) + "/examples/recipes/q8.json");
  if (q8.ok()) cases.push_back({"example_q8", example, *q8, false});
  // Every tensor widened to f32: llama.cpp then computes without rounding activations to the
  // weights' type, which isolates layout errors from precision (tests/pipeline/run_llama_check.sh).
  auto f32 = ParseRecipe(R"({"name": "f32", "default": "f32"})", "f32 recipe");
  if (f32.ok()) {
    cases.push_back({"example_f32", example, *f32, false});
    // Proxy experts are ordinary experts of the node: stock llama.cpp must compute them exactly.
    cases.push_back({"example_f32_proxies", example, *f32, false, true});
  }
  return cases;
}

std::string CaseFamily(const GgufCase& c) {
  return c.name.starts_with("deepseek_v3") ? "deepseek_v3" : c.name;
}

Result<PackReport> PackCase(const GgufCase& c, const std::string& dist, NodeFileFormat format) {
  ASSIGN_OR_RETURN(auto ckpt, Checkpoint::Open(c.checkpoint));
  ExpertPlan plan = pack_testing::TwoGroupPlan(ckpt->config());
  if (const int nodes = c.whole_router_group_nodes; nodes > 0) {
    const int e = plan.num_experts;
    plan.num_groups = nodes;
    for (auto& [layer, lp] : plan.layers) {
      lp.overlay.clear();
      lp.groups.assign(nodes, {});
      for (int x = 0; x < e; ++x) lp.groups[x * nodes / e].push_back(x);
    }
  }
  PackRequest req = pack_testing::MakeRequest(c.checkpoint, plan, dist);
  req.recipe = c.recipe;
  req.format = format;
  if (c.proxies) {
    StandInPlanRequest fit;
    fit.checkpoint_dir = c.checkpoint;
    fit.suite_path =
        std::string(moedist::test_dirs::SourceDir()) + "/examples/calibration/calibration.jsonl";
    fit.max_tokens = 16;
    // Two per group (clusters of the group's experts), so a node holds several proxies of one
    // group, as budget mode's proxy variants do.
    fit.proxies_per_group = 2;
    fit.out_path = dist + ".standins.safetensors";
    RETURN_IF_ERROR(WritePlanStandIns(req.plan, fit).status());
    req.plan.standins_file = fit.out_path;
    req.plan.standins_kind = "proxy-fit";
  }
  return PackRelease(req);
}

Result<ReplannedNode> ReplanNode(const std::string& dist, const std::string& checkpoint,
                                 const NodeInfo& info) {
  ReplannedNode out;
  ASSIGN_OR_RETURN(out.node, Checkpoint::Open(dist + "/" + info.node, CheckpointOpenOptions{dist}));
  ASSIGN_OR_RETURN(std::string config, ReadSmallFile(checkpoint + "/config.json", 16ull << 20));
  ASSIGN_OR_RETURN(TokenizerSources tok, ReadTokenizerSources(checkpoint, config));
  GgufNodeRequest req{out.node.get(), &info, config, tok,
                      fmt::format("{} {}", out.node->config().model_type, info.node)};
  ASSIGN_OR_RETURN(out.plan, PlanNodeGguf(req));
  return out;
}

}  // namespace moedist::gguf_testing
