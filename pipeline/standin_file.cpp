#include "pipeline/standin_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/json_strict.h"
#include "formats/safetensors_reader.h"
#include "formats/safetensors_writer.h"
#include "quant/quantize.h"

namespace moedist {
namespace {

constexpr std::string_view kMetadataKey = "moedist.standins";

std::string ProxyName(int layer, int index, std::string_view part) {
  return fmt::format("model.layers.{}.mlp.proxies.{}.{}.weight", layer, index, part);
}

Result<std::shared_ptr<std::vector<uint8_t>>> Encode(const std::vector<float>& v, DType dtype) {
  QuantType type = QuantType::kF32;
  if (dtype == DType::kBF16)
    type = QuantType::kBF16;
  else if (dtype == DType::kF16)
    type = QuantType::kF16;
  else if (dtype != DType::kF32) {
    return Status::InvalidArgument("stand-in file: dtype {} is not F32, F16 or BF16",
                                   DTypeName(dtype));
  }
  ASSIGN_OR_RETURN(uint64_t bytes, QuantTensorBytes(type, 1, v.size()));
  auto out = std::make_shared<std::vector<uint8_t>>(bytes);
  RETURN_IF_ERROR(QuantizeRows(type, v, v.size(), *out));
  return out;
}

}  // namespace

Status WriteStandInFile(const std::string& path, const FittedStandIns& fitted, DType dtype) {
  if (fitted.options.kind == StandInKind::kConstant) {
    return Status::InvalidArgument("constant stand-ins have no file form (runtime-min only)");
  }
  std::vector<SafetensorsSource> sources;
  std::vector<std::shared_ptr<std::vector<uint8_t>>> keep;
  nlohmann::json layers = nlohmann::json::object();
  auto add = [&](std::string name, const std::vector<float>& v,
                 std::vector<uint64_t> shape) -> Status {
    ASSIGN_OR_RETURN(auto bytes, Encode(v, dtype));
    keep.push_back(bytes);
    sources.push_back(SourceFromBytes(std::move(name), dtype, std::move(shape), *bytes));
    return Status::Ok();
  };
  for (const auto& [layer, proxies] : fitted.proxies) {
    nlohmann::json members = nlohmann::json::array();
    for (size_t h = 0; h < proxies.size(); ++h) {
      const ProxyExpert& p = proxies[h];
      const uint64_t H = uint64_t(p.expert.mlp.gate.in), I = uint64_t(p.expert.mlp.gate.out);
      const int g = static_cast<int>(h);
      RETURN_IF_ERROR(add(ProxyName(layer, g, "gate_proj"), p.expert.gate, {I, H}));
      RETURN_IF_ERROR(add(ProxyName(layer, g, "up_proj"), p.expert.up, {I, H}));
      RETURN_IF_ERROR(add(ProxyName(layer, g, "down_proj"), p.expert.down, {H, I}));
      RETURN_IF_ERROR(add(ProxyName(layer, g, "router"), p.router_row, {1, H}));
      members.push_back(p.members);
    }
    layers[std::to_string(layer)] = members;
  }
  const nlohmann::json meta = {
      {"version", 1}, {"kind", StandInKindName(fitted.options.kind)}, {"layers", layers}};
  return WriteSafetensorsFile(path, std::move(sources), {{std::string(kMetadataKey), meta.dump()}});
}

Result<StandInFile> ReadStandInFile(const std::string& path, const ExpertPlan& plan, int64_t hidden,
                                    int64_t width) {
  ASSIGN_OR_RETURN(std::shared_ptr<const SafetensorsFile> file, SafetensorsFile::Open(path));
  auto it = file->metadata().find(std::string(kMetadataKey));
  if (it == file->metadata().end()) {
    return Status::Corruption("{}: no \"{}\" in the safetensors __metadata__: not a stand-in file",
                              path, kMetadataKey);
  }
  ASSIGN_OR_RETURN(nlohmann::json meta, ParseJsonStrict(it->second, path + " __metadata__"));
  if (!meta.is_object() || meta.value("version", 0) != 1 || !meta.contains("kind") ||
      !meta["kind"].is_string() || !meta.contains("layers") || !meta["layers"].is_object()) {
    return Status::Corruption("{}: \"{}\" must be {{\"version\": 1, \"kind\", \"layers\"}}", path,
                              kMetadataKey);
  }
  StandInFile out;
  out.path = path;
  out.kind = meta["kind"].get<std::string>();
  const nlohmann::json& layers = meta["layers"];
  for (const auto& [layer, lp] : plan.layers) {
    const std::string key = std::to_string(layer);
    if (!layers.contains(key) || !layers[key].is_array() || layers[key].empty()) {
      return Status::Corruption("{}: layer {} lists no proxies (the plan has {} groups)", path,
                                layer, lp.groups.size());
    }
    // The proxies of a layer split its groups, in group order: each proxy's members are sorted
    // and inside one group, and a group's proxies together are that group.
    size_t group = 0;
    std::vector<int> covered;  // of `group`, so far
    for (size_t h = 0; h < layers[key].size(); ++h) {
      const nlohmann::json& m = layers[key][h];
      std::vector<int> members;
      if (m.is_array() && !m.empty() &&
          std::all_of(m.begin(), m.end(),
                      [](const nlohmann::json& v) { return v.is_number_integer(); })) {
        members = m.get<std::vector<int>>();
      }
      if (members.empty() || !std::is_sorted(members.begin(), members.end()) ||
          std::adjacent_find(members.begin(), members.end()) != members.end()) {
        return Status::Corruption(
            "{}: layer {} proxy {} stands for {}: expected a sorted, non-empty list of distinct "
            "expert ids",
            path, layer, h, m.dump());
      }
      const std::vector<int>* g = group < lp.groups.size() ? &lp.groups[group] : nullptr;
      const bool inside = g != nullptr && std::all_of(members.begin(), members.end(), [&](int e) {
                            return std::binary_search(g->begin(), g->end(), e) &&
                                   !std::binary_search(covered.begin(), covered.end(), e);
                          });
      if (!inside) {
        return Status::Corruption(
            "{}: layer {} proxy {} stands for {}, which is not a part of the plan's group {} "
            "not yet covered ({}): the file was fitted for another plan",
            path, layer, h, m.dump(), group, g ? nlohmann::json(*g).dump() : "none");
      }
      covered.insert(covered.end(), members.begin(), members.end());
      std::sort(covered.begin(), covered.end());
      if (covered == *g) {
        ++group;
        covered.clear();
      }
      StandInFileProxy p;
      p.members = members;
      const int index = static_cast<int>(h);
      struct Want {
        CheckpointTensor* dst;
        std::string name;
        std::vector<uint64_t> shape;
      };
      const uint64_t H = uint64_t(hidden), I = uint64_t(width);
      for (Want w : {Want{&p.gate, ProxyName(layer, index, "gate_proj"), {I, H}},
                     Want{&p.up, ProxyName(layer, index, "up_proj"), {I, H}},
                     Want{&p.down, ProxyName(layer, index, "down_proj"), {H, I}},
                     Want{&p.router, ProxyName(layer, index, "router"), {1, H}}}) {
        const SafetensorsTensor* t = file->Find(w.name);
        if (!t) return Status::Corruption("{}: tensor \"{}\" is missing", path, w.name);
        if (t->shape != w.shape) {
          return Status::Corruption("{}: tensor \"{}\" has shape {}, expected {}", path, w.name,
                                    nlohmann::json(t->shape).dump(),
                                    nlohmann::json(w.shape).dump());
        }
        *w.dst = CheckpointTensor{w.name, file, t};
      }
      out.layers[layer].push_back(std::move(p));
    }
    if (group != lp.groups.size()) {
      return Status::Corruption(
          "{}: layer {}'s proxies cover {} of the plan's {} groups: the file was fitted for "
          "another plan",
          path, layer, group, lp.groups.size());
    }
  }
  return out;
}

Result<FittedStandIns> LoadFittedStandIns(const StandInFile& file) {
  FittedStandIns f;
  ASSIGN_OR_RETURN(f.options.kind, ParseStandInKindName(file.kind));
  auto widen = [](const CheckpointTensor& t) -> Result<std::vector<float>> {
    std::vector<float> out(static_cast<size_t>(t.info->num_elements()));
    QuantType type = QuantType::kF32;
    if (t.dtype() == DType::kBF16)
      type = QuantType::kBF16;
    else if (t.dtype() == DType::kF16)
      type = QuantType::kF16;
    else if (t.dtype() != DType::kF32) {
      return Status::Corruption("{}: tensor \"{}\" is {}, expected F32, F16 or BF16",
                                t.shard->path(), t.name, DTypeName(t.dtype()));
    }
    RETURN_IF_ERROR(DequantizeRow(type, t.bytes(), out));
    return out;
  };
  for (const auto& [layer, proxies] : file.layers) {
    for (const StandInFileProxy& p : proxies) {
      ProxyExpert px;
      px.members = p.members;
      ASSIGN_OR_RETURN(px.expert.gate, widen(p.gate));
      ASSIGN_OR_RETURN(px.expert.up, widen(p.up));
      ASSIGN_OR_RETURN(px.expert.down, widen(p.down));
      ASSIGN_OR_RETURN(px.router_row, widen(p.router));
      px.expert.Bind(int64_t(p.gate.shape()[1]), int64_t(p.gate.shape()[0]));
      f.proxies[layer].push_back(std::move(px));
    }
  }
  return f;
}

}  // namespace moedist
