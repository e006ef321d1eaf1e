#include "pipeline/node_bundle.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/json_strict.h"
#include "core/mapped_file.h"

namespace moedist {
namespace {

constexpr uint64_t kMaxNodeInfoBytes = 16ull << 20;

Result<std::vector<int>> IdList(const nlohmann::json& j, int num_experts,
                                const std::string& where) {
  if (!j.is_array()) return Status::Corruption("{}: expected a list of expert ids", where);
  std::vector<int> out;
  for (const auto& v : j) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= num_experts) {
      return Status::Corruption("{}: {} is not an expert id in 0..{}", where, v.dump(),
                                num_experts - 1);
    }
    if (!out.empty() && v.get<int>() <= out.back()) {
      return Status::Corruption("{}: ids must be strictly ascending", where);
    }
    out.push_back(v.get<int>());
  }
  return out;
}

}  // namespace

std::string_view NodeModeName(NodeMode mode) {
  return mode == NodeMode::kSlice ? "slice" : "mask";
}

int NodeInfo::num_local_experts(int layer) const {
  const NodeLayer& nl = layers.at(layer);
  return mode == NodeMode::kSlice ? static_cast<int>(nl.held.size() + nl.proxies.size())
                                  : source_num_experts;
}

int NodeInfo::LocalId(int layer, int expert) const {
  const std::vector<int>& held = layers.at(layer).held;
  auto it = std::lower_bound(held.begin(), held.end(), expert);
  if (it == held.end() || *it != expert) return -1;
  return mode == NodeMode::kSlice ? static_cast<int>(it - held.begin()) : expert;
}

int WholeRouterGroupsHeld(const ModelConfig& config, const std::map<int, NodeLayer>& layers) {
  const RoutingConfig& r = config.routing;
  if (r.n_group <= 1 || r.num_experts % r.n_group != 0 || layers.empty()) return 0;
  const int per = r.num_experts / r.n_group;
  std::set<int> counts;
  for (const auto& [layer, nl] : layers) {
    if (!nl.proxies.empty()) return 0;
    std::map<int, int> in_group;
    for (int e : nl.held) in_group[e / per]++;
    for (const auto& [g, n] : in_group) {
      if (n != per) return 0;
    }
    counts.insert(static_cast<int>(in_group.size()));
  }
  return counts.size() == 1 ? *counts.begin() : 0;
}

std::pair<int, int> NodeRouterGroups(const ModelConfig& config, int held_groups) {
  if (held_groups <= config.routing.topk_group) return {1, 1};
  return {held_groups, config.routing.topk_group};
}

std::pair<NodeMode, std::string> ChooseNodeMode(const ModelConfig& config,
                                                const std::map<int, NodeLayer>& layers) {
  const RoutingConfig& r = config.routing;
  if (r.n_group > 1) {
    const int whole = WholeRouterGroupsHeld(config, layers);
    if (whole == 0) {
      return {NodeMode::kMask,
              fmt::format("grouped top-k (n_group {}, topk_group {}): the node holds part of a "
                          "router group (blocks of {} experts), so the full router and ids are "
                          "kept",
                          r.n_group, r.topk_group, r.num_experts / r.n_group)};
    }
    const auto [n_group, topk_group] = NodeRouterGroups(config, whole);
    return {NodeMode::kSlice,
            fmt::format("grouped top-k (n_group {}, topk_group {}): the node holds {} whole router "
                        "groups, so a router over them makes the masked model's choices "
                        "(n_group {}, topk_group {} in its config)",
                        r.n_group, r.topk_group, whole, n_group, topk_group)};
  }
  if (r.scoring == ScoringFunc::kSoftmax && !r.norm_topk_prob) {
    return {NodeMode::kMask,
            "softmax over all experts without renormalisation (norm_topk_prob false): a chosen "
            "expert's weight depends on every expert's logit, so the full router is kept"};
  }
  std::set<size_t> sizes;
  for (const auto& [layer, nl] : layers) sizes.insert(nl.held.size());
  if (sizes.size() > 1) {
    return {NodeMode::kMask,
            fmt::format("the node holds {} to {} experts depending on the layer, and config.json "
                        "states one expert count",
                        *sizes.begin(), *sizes.rbegin())};
  }
  switch (r.scoring) {
    case ScoringFunc::kSoftmax:
      return {NodeMode::kSlice,
              "softmax with renormalised top-k: weights depend only on the "
              "chosen experts' logits"};
    case ScoringFunc::kSigmoid:
      return {NodeMode::kSlice,
              "sigmoid scores without expert groups: each expert's score "
              "depends only on its own logit"};
    default:
      return {NodeMode::kSlice,
              "top-k of the raw logits: selection and weights depend only on "
              "the held experts' logits"};
  }
}

nlohmann::json NodeInfoToJson(const NodeInfo& info) {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [layer, nl] : info.layers) {
    layers[std::to_string(layer)] = {{"held", nl.held}, {"overlay", nl.overlay}};
    if (!nl.proxies.empty()) layers[std::to_string(layer)]["proxies"] = nl.proxies;
  }
  return {{"version", kNodeInfoVersion},
          {"node", info.node},
          {"group", info.group},
          {"mode", NodeModeName(info.mode)},
          {"mode_reason", info.mode_reason},
          {"family", info.family},
          {"source_num_experts", info.source_num_experts},
          {"bundles", info.bundles},
          {"layers", layers}};
}

Result<NodeInfo> ParseNodeInfo(std::string_view text, const std::string& source) {
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(text, source));
  NodeInfo info;
  try {
    if (!j.is_object()) return Status::Corruption("{}: not a JSON object", source);
    if (j.at("version") != kNodeInfoVersion) {
      return Status::Unsupported("{}: version {} (this moedist reads {})", source,
                                 j.at("version").dump(), kNodeInfoVersion);
    }
    info.node = j.at("node").get<std::string>();
    info.group = j.at("group").get<int>();
    const std::string mode = j.at("mode").get<std::string>();
    if (mode != "slice" && mode != "mask") {
      return Status::Corruption("{}: mode \"{}\", expected slice or mask", source, mode);
    }
    info.mode = mode == "slice" ? NodeMode::kSlice : NodeMode::kMask;
    info.mode_reason = j.at("mode_reason").get<std::string>();
    info.family = j.at("family").get<std::string>();
    info.source_num_experts = j.at("source_num_experts").get<int>();
    info.bundles = j.at("bundles").get<std::vector<std::string>>();
    if (info.source_num_experts <= 0) {
      return Status::Corruption("{}: source_num_experts must be positive", source);
    }
    for (const auto& [key, lj] : j.at("layers").items()) {
      size_t used = 0;
      const int layer = std::stoi(key, &used);
      if (used != key.size() || layer < 0 || std::to_string(layer) != key) {
        return Status::Corruption("{}: layer key \"{}\" is not a layer index", source, key);
      }
      NodeLayer nl;
      const std::string where = fmt::format("{}: layers.{}", source, key);
      ASSIGN_OR_RETURN(nl.held, IdList(lj.at("held"), info.source_num_experts, where + ".held"));
      ASSIGN_OR_RETURN(nl.overlay,
                       IdList(lj.at("overlay"), info.source_num_experts, where + ".overlay"));
      if (nl.held.empty() ||
          !std::includes(nl.held.begin(), nl.held.end(), nl.overlay.begin(), nl.overlay.end())) {
        return Status::Corruption("{}: held must be non-empty and contain the overlay", where);
      }
      if (lj.contains("proxies")) {
        ASSIGN_OR_RETURN(nl.proxies,
                         IdList(lj.at("proxies"), info.source_num_experts, where + ".proxies"));
        if (info.mode != NodeMode::kSlice && !nl.proxies.empty()) {
          return Status::Corruption("{}: proxies need slice mode", where);
        }
      }
      info.layers[layer] = std::move(nl);
    }
  } catch (const std::exception& e) {
    return Status::Corruption("{}: not a moedist node description: {}", source, e.what());
  }
  if (info.layers.empty()) return Status::Corruption("{}: no layers", source);
  return info;
}

Result<NodeInfo> ReadNodeInfo(const std::string& node_dir) {
  const std::string path = (std::filesystem::path(node_dir) / kNodeInfoFile).string();
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMaxNodeInfoBytes));
  return ParseNodeInfo(text, path);
}

std::map<int, std::vector<int>> NodeMaskLayers(const NodeInfo& info) {
  std::map<int, std::vector<int>> out;
  if (info.mode != NodeMode::kMask) return out;
  for (const auto& [layer, nl] : info.layers) out[layer] = nl.held;
  return out;
}

std::string NodeMaskText(const NodeInfo& info) {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [layer, ids] : NodeMaskLayers(info)) layers[std::to_string(layer)] = ids;
  return DumpJsonStable({{"layers", layers}}) + "\n";
}

Result<std::string> NodeConfigText(const std::string& config_text, const NodeInfo& info,
                                   const std::string& source) {
  if (info.mode == NodeMode::kMask) return config_text;
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJsonStrict(config_text, source));
  const int n = info.num_local_experts(info.layers.begin()->first);
  nlohmann::json* fields = &root;
  if (root.value("model_type", "") == "llama4" && root.contains("text_config")) {
    fields = &root["text_config"];
  }
  int rewritten = 0;
  for (const char* key : {"num_experts", "num_local_experts", "n_routed_experts"}) {
    if (fields->contains(key)) {
      (*fields)[key] = n;
      ++rewritten;
    }
  }
  if (rewritten == 0) {
    return Status::Internal("{}: no expert count field to rewrite for node {}", source, info.node);
  }
  // A grouped router over whole held groups (WholeRouterGroupsHeld): the node's own grouping.
  if (fields->contains("n_group") && (*fields)["n_group"].is_number_integer() &&
      (*fields)["n_group"].get<int>() > 1) {
    ASSIGN_OR_RETURN(ModelConfig source_cfg, ParseModelConfig(config_text, source));
    const int whole = WholeRouterGroupsHeld(source_cfg, info.layers);
    if (whole == 0) {
      return Status::Internal("{}: node {} is sliced but does not hold whole router groups", source,
                              info.node);
    }
    const auto [n_group, topk_group] = NodeRouterGroups(source_cfg, whole);
    (*fields)["n_group"] = n_group;
    (*fields)["topk_group"] = topk_group;
  }
  std::string text = DumpJsonStable(root) + "\n";
  ASSIGN_OR_RETURN(ModelConfig check, ParseModelConfig(text, source + " (node " + info.node + ")"));
  if (check.routing.num_experts != n) {
    return Status::Internal("{}: node {} config reads back {} experts, expected {}", source,
                            info.node, check.routing.num_experts, n);
  }
  return text;
}

Result<std::string> RenameExpert(std::string_view name, int expert, int local) {
  const std::string key = ".experts." + std::to_string(expert) + ".";
  const size_t at = name.find(key);
  if (at == std::string_view::npos || name.find(key, at + 1) != std::string_view::npos) {
    return Status::Internal("tensor \"{}\": cannot find expert {} in its name", name, expert);
  }
  return fmt::format("{}.experts.{}.{}", name.substr(0, at), local, name.substr(at + key.size()));
}

}  // namespace moedist
