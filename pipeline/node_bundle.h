// Node bundles: what makes DIST/node-<g>/ load as one checkpoint (docs/formats/bundle.md).
//
// A node holds, per MoE layer, its group's experts plus the overlay. Two modes:
//   slice  the node's config.json says it has |group ∪ overlay| experts, numbered 0..n-1 in
//          ascending order of their original ids; the router's rows (and router bias /
//          e_score_correction_bias entries) are sliced to them in that order. Exact for routers
//          whose choice and weights depend only on the kept experts' logits: softmax with
//          renormalised top-k (Mixtral, Qwen3-MoE), sigmoid scores without expert groups, and
//          top-k on raw logits (Llama-4, GPT-OSS).
//   mask   config.json is the original (all experts, original ids), the full router is kept,
//          only the node's experts are present, and the runtime must apply the expert mask in
//          moedist_node.json / expert_mask.json. Used where slicing would change routing:
//          softmax without renormalisation (norm_topk_prob = false: the weights keep the full
//          softmax denominator), grouped top-k (DeepSeek n_group > 1: groups are fixed blocks
//          of the full expert list), and plans whose node size differs between layers (one
//          config.json holds one expert count).
// moedist_node.json records the mode and, per MoE layer, the original ids the node holds (in
// slice mode, local expert j is held[j]). Thread safety: plain values and pure functions.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "formats/model_config.h"

namespace moedist {

inline constexpr std::string_view kNodeInfoFile = "moedist_node.json";
inline constexpr std::string_view kNodeMaskFile = "expert_mask.json";
inline constexpr std::string_view kNodeShardFile = "model-node.safetensors";
inline constexpr int kNodeInfoVersion = 1;

enum class NodeMode { kSlice, kMask };
std::string_view NodeModeName(NodeMode mode);

struct NodeLayer {
  std::vector<int> held;     // original expert ids the node holds, ascending
  std::vector<int> overlay;  // the subset replicated on every node
  // Slice mode with plan stand-ins: the indices (in the stand-in file's list for the layer) of
  // the proxies the node holds, as local experts |held|, |held| + 1, ... in this order
  // (standin_file.h).
  std::vector<int> proxies;
};

struct NodeInfo {
  std::string node;  // "node-0"
  int group = 0;
  NodeMode mode = NodeMode::kSlice;
  std::string mode_reason;
  std::string family;  // moedist family name
  int source_num_experts = 0;
  std::vector<std::string> bundles;  // bundles this node reads, itself included
  std::map<int, NodeLayer> layers;   // every MoE layer

  int num_local_experts(int layer) const;  // slice: |held| + |proxies|; mask: source_num_experts
  // Local expert id of original id `expert` in `layer`, or -1 if the node does not hold it.
  int LocalId(int layer, int expert) const;
};

// Grouped top-k routers (DeepSeek-V3: n_group blocks of E / n_group experts, topk_group blocks
// kept per token): the number of whole router groups the node holds in every MoE layer, or 0 when
// some layer holds part of a group or the layers differ. A node holding whole groups can be
// sliced exactly: masked experts make the other groups score -inf, so the masked full model keeps
// at most the held groups, and a router over them alone makes the same choices.
int WholeRouterGroupsHeld(const ModelConfig& config, const std::map<int, NodeLayer>& layers);

// The node's grouping when it holds `held_groups` whole groups of a grouped router: {1, 1} when
// held_groups <= topk_group (every held group is always kept: plain top-k, no group keys needed
// in a GGUF), else {held_groups, topk_group}.
std::pair<int, int> NodeRouterGroups(const ModelConfig& config, int held_groups);

// The mode for a node holding `layers` of a model with config `config`, and why.
std::pair<NodeMode, std::string> ChooseNodeMode(const ModelConfig& config,
                                                const std::map<int, NodeLayer>& layers);

nlohmann::json NodeInfoToJson(const NodeInfo& info);
Result<NodeInfo> ParseNodeInfo(std::string_view text, const std::string& source);
Result<NodeInfo> ReadNodeInfo(const std::string& node_dir);

// The expert mask a runtime applies to the node, per MoE layer, in the node's numbering: the held
// ids in mask mode; empty in slice mode (every local expert is allowed).
std::map<int, std::vector<int>> NodeMaskLayers(const NodeInfo& info);
// expert_mask.json for mask mode: {"layers": {"<layer>": [ids]}} (runtime-min/expert_mask.h).
std::string NodeMaskText(const NodeInfo& info);

// The node's config.json: in slice mode the original with every expert-count spelling
// (num_experts, num_local_experts, n_routed_experts; under text_config for multimodal Llama-4)
// set to the node's count, re-parsed to check; in mask mode the original text unchanged.
Result<std::string> NodeConfigText(const std::string& config_text, const NodeInfo& info,
                                   const std::string& source);

// "model.layers.3.mlp.experts.17.up_proj.weight" with expert 17 renamed to `local`.
Result<std::string> RenameExpert(std::string_view name, int expert, int local);

}  // namespace moedist
