// Helpers for the node-GGUF tests: the cases packed (hf-tiny families, a DeepSeek variant
// without expert groups, the trained example with its tokenizer, kept and in q8_0), packing one,
// and re-planning a written node's GGUF the way pack does.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "pipeline/gguf_node_export.h"
#include "pipeline/pack_recipe.h"
#include "pipeline/pack_release.h"

namespace moedist::gguf_testing {

struct GgufCase {
  std::string name;        // "qwen3_moe", "deepseek_v3_flat", "example_q8"
  std::string checkpoint;  // directory
  PackRecipe recipe;
  bool expect_refusal = false;  // llama.cpp cannot run the sliced node the same way
  bool proxies = false;         // nodes also hold proxy experts (plan --standins proxy-fit)
  // > 0: that many nodes of whole router groups and no overlay (DeepSeek-V3's grouped router:
  // each node is sliced; with 2 nodes each holds topk_group groups and llama.cpp runs plain
  // top-k, with 1 node it holds all 4 and the GGUF carries expert_group_count / _used_count).
  int whole_router_group_nodes = 0;
};

// The hf-tiny family whose reference inputs a case uses ("deepseek_v3_flat" → "deepseek_v3").
std::string CaseFamily(const GgufCase& c);

// All cases; the DeepSeek variant is written under `scratch`.
std::vector<GgufCase> GgufCases(const std::string& scratch);

// Packs the case into `dist` with the two-group test plan.
Result<PackReport> PackCase(const GgufCase& c, const std::string& dist, NodeFileFormat format);

struct ReplannedNode {
  std::unique_ptr<Checkpoint> node;
  GgufNodePlan plan;  // views into `node`
};
// Opens DIST/<node> as pack does and plans its GGUF again.
Result<ReplannedNode> ReplanNode(const std::string& dist, const std::string& checkpoint,
                                 const NodeInfo& info);

}  // namespace moedist::gguf_testing
