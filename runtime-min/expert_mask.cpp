#include "runtime-min/expert_mask.h"

#include <charconv>

#include "core/json_strict.h"
#include "core/mapped_file.h"

#include <fmt/ranges.h>

namespace moedist {
namespace {

constexpr uint64_t kMaxMaskBytes = 64ull << 20;

Result<std::vector<int>> IdList(const nlohmann::json& v, std::string_view source,
                                const std::string& where) {
  if (!v.is_array()) {
    return Status::Corruption("{}: {} is {}, expected a list of expert ids", source, where,
                              v.dump());
  }
  std::vector<int> ids;
  for (const auto& e : v) {
    if (!e.is_number_integer()) {
      return Status::Corruption("{}: {} contains {}, expected integer expert ids", source, where,
                                e.dump());
    }
    const int64_t id = e.get<int64_t>();
    if (id < INT32_MIN || id > INT32_MAX) {
      return Status::Corruption("{}: {}: expert id {} is out of range", source, where, id);
    }
    ids.push_back(static_cast<int>(id));
  }
  return ids;
}

}  // namespace

Result<ExpertMask> ExpertMask::FromLayers(const ModelConfig& c,
                                          const std::map<int, std::vector<int>>& layers,
                                          std::string_view source) {
  const int ne = c.routing.num_experts, k = c.routing.top_k;
  ExpertMask m;
  m.allowed_.resize(c.num_layers);
  for (const auto& [layer, ids] : layers) {
    if (layer < 0 || layer >= c.num_layers || !c.is_moe_layer[layer]) {
      return Status::Corruption("{}: layer {} is not a MoE layer of this model (MoE layers: "
                                     "{})",
                                     source, layer, fmt::join(c.MoeLayers(), ", "));
    }
    std::vector<uint8_t> flags(ne, 0);
    for (int id : ids) {
      if (id < 0 || id >= ne) {
        return Status::Corruption("{}: layer {}: expert id {} is out of range (the model "
                                       "has {} routed experts: 0..{})",
                                       source, layer, id, ne, ne - 1);
      }
      if (flags[id]) {
        return Status::Corruption("{}: layer {}: expert id {} is listed twice", source,
                                       layer, id);
      }
      flags[id] = 1;
    }
    if (static_cast<int>(ids.size()) < k) {
      return Status::Corruption("{}: layer {} allows {} expert(s) but the router chooses "
                                     "{} per token (num_experts_per_tok); a mask must leave at "
                                     "least top-k experts",
                                     source, layer, ids.size(), k);
    }
    m.allowed_[layer] = std::move(flags);
  }
  return m;
}

Result<ExpertMask> ExpertMask::Parse(std::string_view text, std::string_view source,
                                     const ModelConfig& c) {
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJsonStrict(text, source));
  if (!root.is_object()) {
    return Status::Corruption("{}: expected a JSON object with \"allowed\" or \"layers\"",
                              source);
  }
  for (const auto& [key, value] : root.items()) {
    if (key != "allowed" && key != "layers") {
      return Status::Corruption("{}: unknown field \"{}\" (expected \"allowed\" or \"layers\")",
                                source, key);
    }
  }
  const bool has_allowed = root.contains("allowed"), has_layers = root.contains("layers");
  if (has_allowed == has_layers) {
    return Status::Corruption("{}: expected exactly one of \"allowed\" and \"layers\"", source);
  }
  std::map<int, std::vector<int>> layers;
  if (has_allowed) {
    ASSIGN_OR_RETURN(std::vector<int> ids, IdList(root["allowed"], source, "\"allowed\""));
    for (int l : c.MoeLayers()) layers[l] = ids;
  } else {
    const nlohmann::json& obj = root["layers"];
    if (!obj.is_object()) {
      return Status::Corruption("{}: \"layers\" is {}, expected an object of layer → ids",
                                source, obj.dump());
    }
    for (const auto& [key, value] : obj.items()) {
      int layer = -1;
      auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), layer);
      if (ec != std::errc() || ptr != key.data() + key.size() || key.empty()) {
        return Status::Corruption("{}: \"layers\" key \"{}\" is not a layer index", source, key);
      }
      ASSIGN_OR_RETURN(layers[layer],
                       IdList(value, source, fmt::format("\"layers\"[\"{}\"]", key)));
    }
  }
  return FromLayers(c, layers, source);
}

Result<ExpertMask> ExpertMask::Load(const std::string& path, const ModelConfig& c) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMaxMaskBytes));
  return Parse(text, path, c);
}

bool ExpertMask::restricts_anything() const {
  for (const auto& flags : allowed_) {
    for (uint8_t f : flags) {
      if (!f) return true;
    }
  }
  return false;
}

}  // namespace moedist
