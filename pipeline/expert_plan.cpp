#include "pipeline/expert_plan.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/json_strict.h"
#include "core/mapped_file.h"

namespace moedist {
namespace {

Result<std::vector<int>> ExpertList(const nlohmann::json& j, int num_experts,
                                    const std::string& where) {
  if (!j.is_array()) return Status::Corruption("{}: expected a list of expert ids", where);
  std::vector<int> out;
  for (const auto& v : j) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= num_experts) {
      return Status::Corruption("{}: {} is not an expert id in 0..{}", where, v.dump(),
                                num_experts - 1);
    }
    out.push_back(v.get<int>());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<LayerPlan> LayerFromJson(const nlohmann::json& j, int num_experts,
                                const std::string& where) {
  if (!j.is_object()) return Status::Corruption("{}: expected an object", where);
  for (const auto& [key, _] : j.items()) {
    if (key != "groups" && key != "overlay" && key != "profiled") {
      return Status::Corruption("{}: unknown field \"{}\" (expected groups, overlay)", where, key);
    }
  }
  LayerPlan lp;
  if (!j.contains("groups") || !j["groups"].is_array()) {
    return Status::Corruption("{}: missing \"groups\" list", where);
  }
  for (size_t g = 0; g < j["groups"].size(); ++g) {
    ASSIGN_OR_RETURN(std::vector<int> group, ExpertList(j["groups"][g], num_experts,
                                                        fmt::format("{}.groups[{}]", where, g)));
    lp.groups.push_back(std::move(group));
  }
  if (j.contains("overlay")) {
    ASSIGN_OR_RETURN(lp.overlay, ExpertList(j["overlay"], num_experts, where + ".overlay"));
  }
  if (j.contains("profiled")) {
    if (!j["profiled"].is_boolean()) {
      return Status::Corruption("{}.profiled: expected true or false, found {}", where,
                                j["profiled"].dump());
    }
    lp.profiled = j["profiled"].get<bool>();
  }
  return lp;
}

}  // namespace

std::vector<int> ExpertPlan::NodeExperts(int layer, int g) const {
  const LayerPlan& lp = layers.at(layer);
  std::vector<int> out = lp.groups.at(g);
  out.insert(out.end(), lp.overlay.begin(), lp.overlay.end());
  std::sort(out.begin(), out.end());
  return out;
}

bool ExpertPlan::HoldsNone(int layer, int g, const std::vector<int>& experts) const {
  const std::vector<int> held = NodeExperts(layer, g);
  return std::none_of(experts.begin(), experts.end(),
                      [&](int e) { return std::binary_search(held.begin(), held.end(), e); });
}

Status CheckPlan(const ExpertPlan& plan, int min_experts, bool force) {
  for (const auto& [layer, lp] : plan.layers) {
    if (static_cast<int>(lp.groups.size()) != plan.num_groups) {
      return Status::InvalidArgument("layer {}: {} groups, expected {}", layer, lp.groups.size(),
                                     plan.num_groups);
    }
    std::vector<int> seen(plan.num_experts, 0);
    // `layer` by value: clang before 16 cannot capture a structured binding (the fuzz build).
    auto mark = [&, layer = layer](int e, const std::string& where) -> Status {
      if (seen[e]++) {
        return Status::InvalidArgument("layer {}: expert {} is used twice ({})", layer, e, where);
      }
      return Status::Ok();
    };
    for (int e : lp.overlay) RETURN_IF_ERROR(mark(e, "overlay"));
    for (size_t g = 0; g < lp.groups.size(); ++g) {
      if (lp.groups[g].empty())
        return Status::InvalidArgument("layer {}: group {} is empty", layer, g);
      for (int e : lp.groups[g]) RETURN_IF_ERROR(mark(e, fmt::format("group {}", g)));
    }
    for (int e = 0; e < plan.num_experts; ++e) {
      if (!seen[e]) {
        return Status::InvalidArgument("layer {}: expert {} is in no group and not in the overlay",
                                       layer, e);
      }
    }
    for (size_t g = 0; g < lp.groups.size(); ++g) {
      if (lp.overlay.size() >= lp.groups[g].size()) {
        return Status::InvalidArgument(
            "layer {}: overlay of {} experts is not smaller than group "
            "{} ({} experts)",
            layer, lp.overlay.size(), g, lp.groups[g].size());
      }
      const int node = static_cast<int>(lp.groups[g].size() + lp.overlay.size());
      if (node < min_experts && !force) {
        return Status::FailedPrecondition(
            "layer {}: group {} ∪ overlay has {} experts, below the viable minimum {} "
            "(default 4 × top-k = {}); use more experts per node or --force",
            layer, g, node, min_experts, 4 * plan.top_k);
      }
      if (node < plan.top_k) {
        return Status::InvalidArgument(
            "layer {}: group {} ∪ overlay has {} experts, fewer than "
            "top-k {}: the router cannot run",
            layer, g, node, plan.top_k);
      }
    }
  }
  return Status::Ok();
}

nlohmann::json PlanLayersToJson(const ExpertPlan& plan) {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [layer, lp] : plan.layers) {
    layers[std::to_string(layer)] = {
        {"groups", lp.groups}, {"overlay", lp.overlay}, {"profiled", lp.profiled}};
  }
  return layers;
}

Result<ExpertPlan> PlanFromAssignmentJson(const nlohmann::json& j,
                                          const std::vector<int>& moe_layers, int num_experts,
                                          int top_k, const std::string& source) {
  ExpertPlan plan;
  plan.num_experts = num_experts;
  plan.top_k = top_k;
  if (!j.is_object()) return Status::Corruption("{}: expected a JSON object", source);
  if (j.contains("layers")) {
    for (const auto& [key, lj] : j["layers"].items()) {
      int layer = -1;
      try {
        size_t used = 0;
        layer = std::stoi(key, &used);
        if (used != key.size()) layer = -1;
      } catch (...) {
      }
      if (std::find(moe_layers.begin(), moe_layers.end(), layer) == moe_layers.end()) {
        return Status::Corruption("{}: layers.\"{}\" is not a MoE layer", source, key);
      }
      ASSIGN_OR_RETURN(plan.layers[layer],
                       LayerFromJson(lj, num_experts, fmt::format("{}: layers.{}", source, key)));
    }
    for (int l : moe_layers) {
      if (!plan.layers.count(l)) {
        return Status::Corruption("{}: no assignment for MoE layer {}", source, l);
      }
    }
  } else {
    ASSIGN_OR_RETURN(LayerPlan lp, LayerFromJson(j, num_experts, source));
    for (int l : moe_layers) plan.layers[l] = lp;
  }
  if (plan.layers.empty()) return Status::Corruption("{}: no MoE layer to assign", source);
  plan.num_groups = static_cast<int>(plan.layers.begin()->second.groups.size());
  return plan;
}

Result<ExpertPlan> ReadPlanFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, 64ull << 20));
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(text, path));
  try {
    if (j.at("schema_version") != 1) return Status::Unsupported("{}: schema_version", path);
    std::vector<int> moe_layers;
    for (const auto& [key, _] : j.at("layers").items()) moe_layers.push_back(std::stoi(key));
    // Checked before anything is sized by them: CheckPlan allocates num_experts counters.
    // Integers only: get<int>() of 1e300 would be an out-of-range float conversion.
    const nlohmann::json &ne = j.at("num_experts"), &tk = j.at("top_k");
    if (!ne.is_number_integer() || !tk.is_number_integer() || ne.get<int64_t>() < 1 ||
        ne.get<int64_t>() > kMaxPlanExperts || tk.get<int64_t>() < 1 ||
        tk.get<int64_t>() > ne.get<int64_t>()) {
      return Status::Corruption(
          "{}: num_experts {} / top_k {} out of range (1..{}, 1..num_experts)", path, ne.dump(),
          tk.dump(), kMaxPlanExperts);
    }
    const int num_experts = ne.get<int>(), top_k = tk.get<int>();
    ASSIGN_OR_RETURN(ExpertPlan plan, PlanFromAssignmentJson({{"layers", j.at("layers")}},
                                                             moe_layers, num_experts, top_k, path));
    plan.strategy = j.at("strategy").get<std::string>();
    if (j.contains("standins")) {
      const nlohmann::json& s = j.at("standins");
      const std::string file = s.at("file").get<std::string>();
      if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..") {
        return Status::Corruption("{}: standins.file \"{}\" must be a file name beside the plan",
                                  path, file);
      }
      plan.standins_file = (std::filesystem::path(path).parent_path() / file).string();
      plan.standins_kind = s.at("kind").get<std::string>();
    }
    RETURN_IF_ERROR(CheckPlan(plan, 0, /*force=*/true).WithContext(path));
    return plan;
  } catch (const std::exception& e) {
    return Status::Corruption("{}: not a moedist plan: {}", path, e.what());
  }
}

}  // namespace moedist
