#include "pipeline/pack_layout.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <tuple>

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "pipeline/pack_convert.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTrunk = "trunk";
constexpr std::string_view kOverlay = "overlay";

std::string GroupBundle(int k) {
  return fmt::format("group-{}", k);
}
std::string NodeName(int g) {
  return fmt::format("node-{}", g);
}

// A tensor to store, with the scale tensor that belongs to it (FP8 weight_scale_inv, MXFP4
// _scales), if any.
struct Source {
  const CheckpointTensor* tensor = nullptr;
  TensorRole role;
  const CheckpointTensor* scale = nullptr;
  bool block_fp8 = false;  // scale is an FP8 weight_scale_inv block grid
};

bool SameEncoding(DType d, QuantType q) {
  return (d == DType::kF32 && q == QuantType::kF32) || (d == DType::kF16 && q == QuantType::kF16) ||
         (d == DType::kBF16 && q == QuantType::kBF16);
}

DType PlainDType(QuantType q) {
  switch (q) {
    case QuantType::kF32: return DType::kF32;
    case QuantType::kF16: return DType::kF16;
    default: return DType::kBF16;
  }
}

std::string QuantText(const TypeChoice& c, const std::vector<uint64_t>& shape, DType source) {
  return DumpJsonStable(
      {{"type", c.stored.Name()}, {"shape", shape}, {"source_dtype", DTypeName(source)}}, -1);
}

// Axis-0 indices → row ranges of the tensor seen as 2-D (see pack_convert.h).
std::vector<RowRange> Axis0Ranges(const CheckpointTensor& t, const std::vector<int>& indices) {
  const uint64_t per = t.shape().empty() || t.shape()[0] == 0 ? 0 : TensorRows(t) / t.shape()[0];
  std::vector<RowRange> out;
  for (int i : indices) out.push_back({uint64_t(i) * per, uint64_t(i + 1) * per});
  return out;
}

// How `bt` (bytes already counted) is exposed: in the source's dtype and shape when
// `as_source`, else in the stored plain type, else as U8 blocks with moedist.quant metadata.
void SetStoredEncoding(BundleTensor& bt, const TypeChoice& choice, DType source_dtype,
                       bool as_source, const std::vector<uint64_t>& shape) {
  if (as_source) {
    bt.dtype = source_dtype;
    bt.shape = shape;
  } else if (GetQuantTypeInfo(*choice.stored.type).block_elements == 1) {
    bt.dtype = PlainDType(*choice.stored.type);
    bt.shape = shape;
  } else {
    bt.dtype = DType::kU8;
    bt.shape = {bt.bytes};
    bt.quant = QuantText(choice, shape, source_dtype);
  }
}

class LayoutBuilder {
 public:
  LayoutBuilder(const Checkpoint& ckpt, const ExpertPlan& plan, const PackRecipe& recipe,
                const LayoutOptions& options)
      : ckpt_(ckpt), cfg_(ckpt.config()), plan_(plan), recipe_(recipe), options_(options) {}

  Result<ReleaseLayout> Build(const std::vector<ClassifiedTensor>& classified);

 private:
  struct Stored {
    std::string name;
    TypeChoice choice;
  };
  struct Packed {
    int layer = -1;
    std::map<std::string, std::vector<int>> experts;  // bundle -> experts, ascending
    std::map<std::string, TypeChoice> choice;         // bundle -> decision
    DType source_dtype = DType::kF32;
    std::vector<uint64_t> shape;  // source shape [E, ...]
  };
  struct Router {
    Source source;
    TypeChoice choice;
    int layer = -1;
  };
  struct ExpertTensor {  // a routed expert's projection as stored
    std::string name;
    TypeChoice choice;
  };

  BundlePlan& Bundle(const std::string& name);
  // The bundle that stores routed expert `expert` of `layer`: its group's, the overlay, or
  // (experts layout) its own.
  std::string RoutedBundle(int layer, int expert) const;
  Status PairScales(const std::vector<ClassifiedTensor>& classified);
  // Stores `s` in `bundle` (axis-0 indices for packed slices), with the recipe's type or
  // `forced`; a kept weight brings its scale along.
  Result<std::vector<Stored>> AddStored(const std::string& bundle, const Source& s,
                                        const std::optional<std::vector<int>>& axis0,
                                        const TypeChoice* forced = nullptr);
  Status AddTensor(const ClassifiedTensor& c);
  Status AssignBundleShards();
  Status PlanNode(int g);
  Status AddSlicedRouters(NodePlan& node);
  // Proxy experts (plan stand-ins) of the groups node `node` lacks, as local experts after its
  // held ones, in its own shard.
  Status AddProxyExperts(NodePlan& node);
  void CheckOverridesUsed();
  // The importance weights for `tensor` stored as `type` (block types with an imatrix entry),
  // counting it; null otherwise, noting block-quantized tensors the imatrix does not cover.
  std::shared_ptr<const std::vector<float>> ImportanceFor(const std::string& tensor,
                                                          QuantType type);
  void ReportImatrixCoverage();

  const Checkpoint& ckpt_;
  const ModelConfig& cfg_;
  const ExpertPlan& plan_;
  const PackRecipe& recipe_;
  const LayoutOptions& options_;
  uint32_t fp8_rows_ = 128, fp8_cols_ = 128;
  ReleaseLayout out_;
  std::map<std::string, size_t> bundle_index_;
  // Bundles whose experts are overlay experts (the recipe's "overlay" class): "overlay", or in
  // the experts layout the overlay experts' own bundles.
  std::set<std::string> overlay_bundles_;
  std::map<std::string, const ClassifiedTensor*> scale_of_;  // weight name -> its scale
  std::set<std::string> paired_scales_;
  std::map<std::string, std::pair<int, int>> expert_of_;  // stored routed name -> (layer, expert)
  std::map<std::string, Packed> packed_;                  // packed tensor name -> composition
  std::map<std::string, Router> routers_;                 // trunk router tensors of MoE layers
  // (layer, expert, projection) -> the stored weight: templates for proxy experts' names/types.
  std::map<std::tuple<int, int, ExpertProjection>, ExpertTensor> expert_weights_;
  std::set<std::string> imatrix_missing_, imatrix_not_applicable_;
};

std::shared_ptr<const std::vector<float>> LayoutBuilder::ImportanceFor(const std::string& tensor,
                                                                       QuantType type) {
  if (!options_.imatrix || GetQuantTypeInfo(type).block_elements == 1) return nullptr;
  auto w = options_.imatrix->For(tensor);
  if (w) {
    out_.imatrix_weighted += 1;
  } else if (options_.imatrix->NotApplicable(tensor)) {
    imatrix_not_applicable_.insert(tensor);
  } else {
    imatrix_missing_.insert(tensor);
  }
  return w;
}

void LayoutBuilder::ReportImatrixCoverage() {
  if (!imatrix_missing_.empty()) {
    out_.warnings.push_back(fmt::format(
        "imatrix {} has no entry for {} block-quantized tensor(s) (first \"{}\"); they are "
        "quantized without importance weights",
        options_.imatrix->path(), imatrix_missing_.size(), *imatrix_missing_.begin()));
  }
  if (!imatrix_not_applicable_.empty()) {
    out_.warnings.push_back(fmt::format(
        "imatrix {} not applied to {} packed expert tensor(s) (first \"{}\"): they are stored "
        "[in, out], so their quantized rows run along output features",
        options_.imatrix->path(), imatrix_not_applicable_.size(),
        *imatrix_not_applicable_.begin()));
  }
}

BundlePlan& LayoutBuilder::Bundle(const std::string& name) {
  auto [it, inserted] = bundle_index_.emplace(name, out_.bundles.size());
  if (inserted) out_.bundles.push_back(BundlePlan{name});
  return out_.bundles[it->second];
}

std::string LayoutBuilder::RoutedBundle(int layer, int expert) const {
  if (options_.kind == PackLayoutKind::kExperts) return ExpertBundleName(layer, expert);
  const LayerPlan& lp = plan_.layers.at(layer);
  for (size_t k = 0; k < lp.groups.size(); ++k) {
    if (std::binary_search(lp.groups[k].begin(), lp.groups[k].end(), expert)) {
      return GroupBundle(static_cast<int>(k));
    }
  }
  return std::string(kOverlay);  // CheckPlan: every expert is in one group or the overlay
}

Status LayoutBuilder::PairScales(const std::vector<ClassifiedTensor>& classified) {
  std::map<std::string, const ClassifiedTensor*> by_name;
  for (const ClassifiedTensor& c : classified) by_name[c.tensor->name] = &c;
  for (const ClassifiedTensor& c : classified) {
    if (c.role.part != TensorPart::kScale) continue;
    const std::string& n = c.tensor->name;
    std::string partner;
    if (n.ends_with(".weight_scale_inv")) {
      partner = n.substr(0, n.size() - std::string_view("_scale_inv").size());
    } else if (n.ends_with("_scales")) {
      partner = n.substr(0, n.size() - std::string_view("_scales").size()) + "_blocks";
    }
    if (!partner.empty() && by_name.count(partner)) {
      scale_of_[partner] = &c;
      paired_scales_.insert(n);
    }
  }
  return Status::Ok();
}

Result<std::vector<LayoutBuilder::Stored>> LayoutBuilder::AddStored(
    const std::string& bundle, const Source& s, const std::optional<std::vector<int>>& axis0,
    const TypeChoice* forced) {
  const CheckpointTensor& t = *s.tensor;
  std::vector<uint64_t> shape = t.shape();
  if (axis0) shape[0] = axis0->size();
  const bool overlay = overlay_bundles_.count(bundle) > 0;
  TensorFacts facts{
      t.name,  s.role.cls,
      overlay, t.dtype(),
      shape,   GetDTypeInfo(t.dtype()).is_float && s.role.part != TensorPart::kBlocks};
  TypeChoice choice;
  if (forced) {
    choice = *forced;
  } else {
    ASSIGN_OR_RETURN(choice, ResolveTensorType(recipe_, facts));
  }
  const bool keep = !choice.stored.type;
  if (!keep && s.scale && !s.block_fp8) {
    return Status::Unsupported(
        "tensor \"{}\" is scaled by \"{}\"; {} asks for {}, but such "
        "tensors can only be kept",
        t.name, s.scale->name, choice.rule, choice.requested.Name());
  }
  if (!keep && !s.scale && t.name.ends_with(".weight") && ckpt_.Find(t.name + "_scale")) {
    // Converting would drop the per-tensor FP8 scale stored beside the weight.
    return Status::Unsupported(
        "tensor \"{}\" is scaled by \"{}_scale\"; {} asks for {}, but "
        "only keep applies",
        t.name, t.name, choice.rule, choice.requested.Name());
  }
  ConvertInput in{&t, keep ? nullptr : s.scale, fp8_rows_, fp8_cols_,
                  axis0 ? Axis0Ranges(t, *axis0) : std::vector<RowRange>{}};
  if (!keep) in.importance = ImportanceFor(t.name, *choice.stored.type);
  ASSIGN_OR_RETURN(uint64_t bytes, ConvertedBytes(in, choice.stored));
  BundleTensor bt;
  bt.name = t.name;
  bt.bytes = bytes;
  const RecipeType stored = choice.stored;
  bt.produce = [in, stored](ByteSink& sink) { return ConvertRows(in, stored, sink); };
  SetStoredEncoding(bt, choice, t.dtype(),
                    keep || (!s.scale && SameEncoding(t.dtype(), *stored.type)), shape);
  Bundle(bundle).tensors.push_back(std::move(bt));
  out_.decisions.push_back(
      {t.name, bundle, std::string(RecipeClassOf(s.role.cls, overlay)), choice});
  std::vector<Stored> added = {{t.name, choice}};
  if (keep && s.scale) {
    // A kept weight keeps its scale beside it, sliced the same way.
    const ClassifiedTensor* sc = scale_of_.at(t.name);
    const TypeChoice follow{{}, {}, "scale of \"" + t.name + "\" (kept with it)", ""};
    ASSIGN_OR_RETURN(auto more, AddStored(bundle, Source{sc->tensor, sc->role}, axis0, &follow));
    added.insert(added.end(), more.begin(), more.end());
  }
  return added;
}

Status LayoutBuilder::AddTensor(const ClassifiedTensor& c) {
  if (paired_scales_.count(c.tensor->name)) return Status::Ok();  // stored with its weight
  Source s{c.tensor, c.role};
  if (auto it = scale_of_.find(c.tensor->name); it != scale_of_.end()) {
    s.scale = it->second->tensor;
    s.block_fp8 = it->second->tensor->name.ends_with("weight_scale_inv");
  }
  const int layer = c.role.layer;
  if (c.role.cls == TensorClass::kRoutedExpert) {
    ASSIGN_OR_RETURN(auto stored, AddStored(RoutedBundle(layer, c.role.expert), s, std::nullopt));
    for (const Stored& st : stored) expert_of_[st.name] = {layer, c.role.expert};
    if (c.role.part == TensorPart::kWeight) {
      expert_weights_[{layer, c.role.expert, c.role.projection}] = {c.tensor->name,
                                                                    stored.front().choice};
    }
    return Status::Ok();
  }
  if (c.role.cls == TensorClass::kRoutedExpertsPacked) {
    const LayerPlan& lp = plan_.layers.at(layer);
    std::vector<std::pair<std::string, std::vector<int>>> parts;
    if (options_.kind == PackLayoutKind::kExperts) {
      for (int e = 0; e < cfg_.routing.num_experts; ++e) {
        parts.push_back({ExpertBundleName(layer, e), {e}});
      }
    } else {
      for (size_t k = 0; k < lp.groups.size(); ++k) {
        parts.push_back({GroupBundle(static_cast<int>(k)), lp.groups[k]});
      }
      if (!lp.overlay.empty()) parts.push_back({std::string(kOverlay), lp.overlay});
    }
    for (const auto& [bundle, experts] : parts) {
      ASSIGN_OR_RETURN(auto stored, AddStored(bundle, s, experts));
      for (const Stored& st : stored) {
        const CheckpointTensor* src = ckpt_.Find(st.name);
        Packed& p = packed_[st.name];
        p.layer = layer;
        p.experts[bundle] = experts;
        p.choice[bundle] = st.choice;
        p.source_dtype = src->dtype();
        p.shape = src->shape();
      }
    }
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(auto stored, AddStored(std::string(kTrunk), s, std::nullopt));
  if ((c.role.cls == TensorClass::kRouterWeight || c.role.cls == TensorClass::kRouterBias) &&
      layer >= 0 && cfg_.is_moe_layer[layer]) {
    routers_[c.tensor->name] = {s, stored.front().choice, layer};
  }
  return Status::Ok();
}

Status LayoutBuilder::AssignBundleShards() {
  // Order: trunk, groups by number, overlay.
  std::vector<BundlePlan> ordered;
  auto take = [&](const std::string& name) {
    auto it = bundle_index_.find(name);
    if (it != bundle_index_.end()) ordered.push_back(std::move(out_.bundles[it->second]));
  };
  take(std::string(kTrunk));
  for (int k = 0; k < plan_.num_groups; ++k) take(GroupBundle(k));
  take(std::string(kOverlay));
  for (const auto& [layer, _] : plan_.layers) {
    for (int e = 0; e < cfg_.routing.num_experts; ++e) {
      const size_t before = ordered.size();
      take(ExpertBundleName(layer, e));
      if (ordered.size() > before) out_.expert_bundles[ExpertBundleName(layer, e)] = {layer, e};
    }
  }
  out_.bundles = std::move(ordered);
  bundle_index_.clear();
  for (size_t i = 0; i < out_.bundles.size(); ++i) {
    bundle_index_[out_.bundles[i].name] = i;
    RETURN_IF_ERROR(AssignShards(out_.bundles[i], options_.shard_bytes));
    // An expert bundle is read only through node indexes: its own index would double the
    // release's file count (and manifest size) for nothing.
    if (options_.kind == PackLayoutKind::kExperts && out_.bundles[i].name != kTrunk) {
      out_.bundles[i].write_index = false;
    }
  }
  return Status::Ok();
}

// A tensor of a node's own shard: the rows of `parts`, in order, stored as `choice` (the
// parts share the source encoding `source_dtype` when the type is keep).
Result<BundleTensor> NodeShardTensor(const std::string& name, std::vector<ConvertInput> parts,
                                     const TypeChoice& choice, DType source_dtype,
                                     std::vector<uint64_t> shape) {
  const RecipeType stored = choice.stored;
  BundleTensor bt;
  bt.name = name;
  bt.bytes = 0;
  for (const ConvertInput& in : parts) {
    if (!stored.type && in.tensor->dtype() != source_dtype) {
      return Status::Unsupported(
          "tensor \"{}\": its rows come as {} and {} and the recipe keeps the source type; "
          "give it a stored type",
          name, DTypeName(source_dtype), DTypeName(in.tensor->dtype()));
    }
    ASSIGN_OR_RETURN(uint64_t bytes, ConvertedBytes(in, stored));
    bt.bytes += bytes;
  }
  bt.produce = [parts, stored](ByteSink& sink) -> Status {
    for (const ConvertInput& in : parts) RETURN_IF_ERROR(ConvertRows(in, stored, sink));
    return Status::Ok();
  };
  SetStoredEncoding(bt, choice, source_dtype,
                    !stored.type || SameEncoding(source_dtype, *stored.type), shape);
  return bt;
}

Status LayoutBuilder::AddSlicedRouters(NodePlan& node) {
  node.shard.name = node.info.node;
  for (const auto& [name, r] : routers_) {
    const NodeLayer& nl = node.info.layers.at(r.layer);
    const std::vector<int>& held = nl.held;
    if (r.source.scale) {
      return Status::Unsupported(
          "router tensor \"{}\" is stored with scale \"{}\"; slicing it to "
          "node {} needs a router type other than keep",
          name, r.source.scale->name, node.info.node);
    }
    const CheckpointTensor& t = *r.source.tensor;
    std::vector<uint64_t> shape = t.shape();
    shape[0] = held.size() + nl.proxies.size();
    ConvertInput in{&t, nullptr, fp8_rows_, fp8_cols_, Axis0Ranges(t, held)};
    const RecipeType stored = r.choice.stored;
    if (stored.type) in.importance = ImportanceFor(name, *stored.type);
    std::vector<ConvertInput> parts = {in};
    if (!nl.proxies.empty()) {
      if (r.source.role.cls != TensorClass::kRouterWeight) {
        return Status::Unsupported(
            "router tensor \"{}\" ({}): proxy experts need a router without bias", name,
            TensorClassName(r.source.role.cls));
      }
      for (int h : nl.proxies) {
        ConvertInput p;
        p.tensor = &options_.standins->layers.at(r.layer)[size_t(h)].router;
        parts.push_back(p);
      }
    }
    ASSIGN_OR_RETURN(BundleTensor bt,
                     NodeShardTensor(name, std::move(parts), r.choice, t.dtype(), shape));
    node.exposed[name] = {bt.dtype, bt.shape, bt.quant};
    node.shard.tensors.push_back(std::move(bt));
  }
  RETURN_IF_ERROR(AddProxyExperts(node));
  if (node.shard.tensors.empty()) return Status::Ok();
  return AssignSingleShard(node.shard, std::string(kNodeShardFile));
}

Status LayoutBuilder::AddProxyExperts(NodePlan& node) {
  for (const auto& [layer, nl] : node.info.layers) {
    for (size_t i = 0; i < nl.proxies.size(); ++i) {
      const StandInFileProxy& proxy = options_.standins->layers.at(layer)[size_t(nl.proxies[i])];
      const int local = static_cast<int>(nl.held.size() + i);
      const int like = nl.held.front();  // a held expert lends its names and stored types
      for (auto [projection, src] : {std::pair{ExpertProjection::kGate, &proxy.gate},
                                     std::pair{ExpertProjection::kUp, &proxy.up},
                                     std::pair{ExpertProjection::kDown, &proxy.down}}) {
        auto it = expert_weights_.find({layer, like, projection});
        if (it == expert_weights_.end()) {
          return Status::Unsupported(
              "node {}: layer {} expert {} has no separate {} weight; proxy experts need the "
              "per-expert layout with gate, up and down projections",
              node.info.node, layer, like, ExpertProjectionName(projection));
        }
        ASSIGN_OR_RETURN(std::string name, RenameExpert(it->second.name, like, local));
        const CheckpointTensor* model_tensor = ckpt_.Find(it->second.name);
        if (model_tensor->dtype() != src->dtype()) {
          return Status::Corruption(
              "{}: tensor \"{}\" is {}, but the model's experts are {} (refit the stand-ins)",
              options_.standins->path, src->name, DTypeName(src->dtype()),
              DTypeName(model_tensor->dtype()));
        }
        ConvertInput in;
        in.tensor = src;
        ASSIGN_OR_RETURN(BundleTensor bt, NodeShardTensor(name, {in}, it->second.choice,
                                                          src->dtype(), src->shape()));
        node.exposed[name] = {bt.dtype, bt.shape, bt.quant};
        node.shard.tensors.push_back(std::move(bt));
      }
    }
  }
  return Status::Ok();
}

Status LayoutBuilder::PlanNode(int g) {
  NodePlan node;
  NodeInfo& info = node.info;
  info.node = NodeName(g);
  info.group = g;
  info.family = std::string(FamilyName(cfg_.family));
  info.source_num_experts = cfg_.routing.num_experts;
  for (const auto& [layer, lp] : plan_.layers) {
    info.layers[layer] = {plan_.NodeExperts(layer, g), lp.overlay};
  }
  std::tie(info.mode, info.mode_reason) = ChooseNodeMode(cfg_, info.layers);
  const bool slice = info.mode == NodeMode::kSlice;
  if (options_.standins) {
    if (!slice) {
      return Status::Unsupported(
          "node {}: proxy experts are ordinary experts of a sliced router, but this node cannot "
          "be sliced: {}",
          info.node, info.mode_reason);
    }
    // Every proxy of the groups this node lacks (the file's proxies split the groups).
    for (auto& [layer, nl] : info.layers) {
      const std::vector<StandInFileProxy>& proxies = options_.standins->layers.at(layer);
      for (size_t h = 0; h < proxies.size(); ++h) {
        if (plan_.HoldsNone(layer, g, proxies[h].members)) nl.proxies.push_back(int(h));
      }
    }
  }
  if (!slice && !packed_.empty()) {
    return Status::Unsupported(
        "node {}: {}; packed expert tensors ({}) cannot hold a subset of "
        "experts under their original ids, so this plan cannot be packed "
        "for this model (give every node the same number of experts in "
        "every layer)",
        info.node, info.mode_reason, packed_.begin()->first);
  }
  // The bundles holding the node's routed experts, in release order.
  std::vector<std::string> expert_bundles;
  if (options_.kind == PackLayoutKind::kExperts) {
    for (const auto& [layer, nl] : info.layers) {
      for (int e : nl.held) expert_bundles.push_back(ExpertBundleName(layer, e));
    }
  } else {
    expert_bundles.push_back(GroupBundle(g));
    if (bundle_index_.count(std::string(kOverlay))) expert_bundles.push_back(std::string(kOverlay));
  }
  const std::set<std::string> holds_experts(expert_bundles.begin(), expert_bundles.end());
  info.bundles.push_back(std::string(kTrunk));
  info.bundles.insert(info.bundles.end(), expert_bundles.begin(), expert_bundles.end());
  info.bundles.push_back(info.node);

  nlohmann::json weight_map = nlohmann::json::object();
  nlohmann::json aliases = nlohmann::json::object();
  nlohmann::json stacks = nlohmann::json::object();
  uint64_t total = 0;
  auto expose = [&](const std::string& exposed, const BundlePlan& b, const BundleTensor& t) {
    weight_map[exposed] = "../" + b.name + "/" + b.shards[b.shard_of.at(t.name)].file;
    if (exposed != t.name) aliases[exposed] = t.name;
    node.exposed[exposed] = {t.dtype, t.shape, t.quant};
    total += t.bytes;
  };
  // Trunk: everything, except the routers the node replaces with sliced ones.
  const BundlePlan& trunk = out_.bundles[bundle_index_.at(std::string(kTrunk))];
  for (const BundleTensor& t : trunk.tensors) {
    if (slice && routers_.count(t.name)) continue;
    expose(t.name, trunk, t);
  }
  // Routed experts of the group and the overlay (or of their expert bundles), renumbered in
  // slice mode.
  for (const std::string& bname : expert_bundles) {
    auto bi = bundle_index_.find(bname);
    if (bi == bundle_index_.end()) continue;
    const BundlePlan& b = out_.bundles[bi->second];
    for (const BundleTensor& t : b.tensors) {
      if (packed_.count(t.name)) continue;
      const auto [layer, expert] = expert_of_.at(t.name);
      std::string name = t.name;
      if (slice) {
        ASSIGN_OR_RETURN(name, RenameExpert(t.name, expert, info.LocalId(layer, expert)));
      }
      expose(name, b, t);
    }
  }
  // Packed experts (slice mode): one stacked tensor in local order.
  for (const auto& [name, p] : packed_) {
    const std::vector<int>& held = info.layers.at(p.layer).held;
    nlohmann::json parts = nlohmann::json::array();
    std::optional<TypeChoice> choice;
    const BundleTensor* first = nullptr;
    uint64_t bytes = 0;
    for (int e : held) {
      for (const auto& [bname, experts] : p.experts) {
        if (!holds_experts.count(bname)) continue;
        auto pos = std::lower_bound(experts.begin(), experts.end(), e);
        if (pos == experts.end() || *pos != e) continue;
        const BundlePlan& b = out_.bundles[bundle_index_.at(bname)];
        const BundleTensor* bt = b.Find(name);
        const TypeChoice& c = p.choice.at(bname);
        if (choice && c.stored != choice->stored) {
          return Status::Unsupported(
              "node {}: packed tensor \"{}\" is stored as {} in {} but as {} "
              "elsewhere; a node's packed tensor needs one type (give "
              "overlay and routed_expert the same type)",
              info.node, name, c.stored.Name(), bname, choice->stored.Name());
        }
        choice = c;
        first = bt;
        const uint64_t per = bt->bytes / experts.size();
        const uint64_t at = uint64_t(pos - experts.begin()) * per;
        parts.push_back({{"shard", "../" + bname + "/" + b.shards[b.shard_of.at(name)].file},
                         {"tensor", name},
                         {"begin", at},
                         {"end", at + per}});
        bytes += per;
      }
    }
    std::vector<uint64_t> logical = p.shape;
    logical[0] = held.size();
    ExposedTensor ex{first->dtype, logical, ""};
    nlohmann::json stack = {{"dtype", DTypeName(first->dtype)}, {"parts", parts}};
    if (!first->quant.empty()) {
      ex.shape = {bytes};
      ex.quant = QuantText(*choice, logical, p.source_dtype);
      stack["metadata"] = {{std::string(kQuantMetadataPrefix) + name, ex.quant}};
    }
    stack["shape"] = ex.shape;
    stacks[name] = stack;
    node.exposed[name] = ex;
    total += bytes;
  }
  if (slice) {
    RETURN_IF_ERROR(AddSlicedRouters(node));
    for (const BundleTensor& t : node.shard.tensors) {
      weight_map[t.name] = std::string(kNodeShardFile);
      total += t.bytes;
    }
  }
  nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  if (!aliases.empty()) index["moedist_aliases"] = aliases;
  if (!stacks.empty()) index["moedist_stacks"] = stacks;
  node.index_text = DumpJsonStable(index) + "\n";
  const std::string config_path = (fs::path(ckpt_.dir()) / "config.json").string();
  ASSIGN_OR_RETURN(std::string config_text, ReadSmallFile(config_path, 16ull << 20));
  ASSIGN_OR_RETURN(node.config_text, NodeConfigText(config_text, info, config_path));
  out_.nodes.push_back(std::move(node));
  return Status::Ok();
}

void LayoutBuilder::CheckOverridesUsed() {
  for (size_t i = 0; i < recipe_.overrides.size(); ++i) {
    const std::string prefix = fmt::format("overrides[{}] ", i);
    const bool used = std::any_of(out_.decisions.begin(), out_.decisions.end(),
                                  [&](const auto& d) { return d.choice.rule.starts_with(prefix); });
    if (!used) {
      out_.warnings.push_back(fmt::format("recipe override {} (pattern \"{}\") matches no tensor",
                                          i, recipe_.overrides[i].pattern));
    }
  }
}

Result<ReleaseLayout> LayoutBuilder::Build(const std::vector<ClassifiedTensor>& classified) {
  const nlohmann::json& raw = cfg_.raw;
  if (raw.contains("quantization_config") && raw["quantization_config"].is_object()) {
    const auto& q = raw["quantization_config"];
    if (q.contains("weight_block_size") && q["weight_block_size"].is_array() &&
        q["weight_block_size"].size() == 2 && q["weight_block_size"][0].is_number_unsigned() &&
        q["weight_block_size"][1].is_number_unsigned()) {
      fp8_rows_ = q["weight_block_size"][0].get<uint32_t>();
      fp8_cols_ = q["weight_block_size"][1].get<uint32_t>();
    }
  }
  RETURN_IF_ERROR(PairScales(classified));
  overlay_bundles_.insert(std::string(kOverlay));
  if (options_.kind == PackLayoutKind::kExperts) {
    for (const auto& [layer, lp] : plan_.layers) {
      for (int e : lp.overlay) overlay_bundles_.insert(ExpertBundleName(layer, e));
    }
  }
  Bundle(std::string(kTrunk));
  for (const ClassifiedTensor& c : classified) RETURN_IF_ERROR(AddTensor(c));
  RETURN_IF_ERROR(AssignBundleShards());
  for (int g = 0; g < plan_.num_groups; ++g) RETURN_IF_ERROR(PlanNode(g));
  out_.aux_files = CheckpointAuxFiles(ckpt_.dir());
  CheckOverridesUsed();
  ReportImatrixCoverage();
  return std::move(out_);
}

}  // namespace

const BundlePlan* ReleaseLayout::FindBundle(std::string_view name) const {
  for (const BundlePlan& b : bundles) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

Status CheckPlanFitsModel(const ExpertPlan& plan, const ModelConfig& config) {
  if (plan.num_experts != config.routing.num_experts) {
    return Status::InvalidArgument("plan is for {} experts per layer, the checkpoint has {}",
                                   plan.num_experts, config.routing.num_experts);
  }
  if (plan.top_k != config.routing.top_k) {
    return Status::InvalidArgument("plan is for top-k {}, the checkpoint routes to {} experts",
                                   plan.top_k, config.routing.top_k);
  }
  const std::vector<int> moe = config.MoeLayers();
  std::vector<int> planned;
  for (const auto& [layer, _] : plan.layers) planned.push_back(layer);
  if (planned != moe) {
    return Status::InvalidArgument("plan covers layers [{}], the checkpoint's MoE layers are [{}]",
                                   fmt::join(planned, ", "), fmt::join(moe, ", "));
  }
  if (plan.num_groups < 1) return Status::InvalidArgument("plan has no groups");
  return CheckPlan(plan, 0, /*force=*/true);
}

const std::vector<std::string_view>& CheckpointAuxFileNames() {
  static const std::vector<std::string_view> kNames = {"generation_config.json",
                                                       "tokenizer.json",
                                                       "tokenizer_config.json",
                                                       "special_tokens_map.json",
                                                       "tokenizer.model",
                                                       "vocab.json",
                                                       "merges.txt",
                                                       "added_tokens.json",
                                                       "chat_template.jinja",
                                                       "chat_template.json"};
  return kNames;
}

std::vector<std::string> CheckpointAuxFiles(const std::string& checkpoint_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (std::string_view n : CheckpointAuxFileNames()) {
    if (fs::is_regular_file(fs::path(checkpoint_dir) / n, ec)) out.emplace_back(n);
  }
  return out;
}

Result<ReleaseLayout> PlanRelease(const Checkpoint& ckpt,
                                  const std::vector<ClassifiedTensor>& classified,
                                  const ExpertPlan& plan, const PackRecipe& recipe,
                                  const LayoutOptions& options) {
  RETURN_IF_ERROR(CheckPlanFitsModel(plan, ckpt.config()));
  if (options.shard_bytes == 0) return Status::InvalidArgument("--shard-bytes must be positive");
  LayoutBuilder builder(ckpt, plan, recipe, options);
  return builder.Build(classified);
}

}  // namespace moedist
