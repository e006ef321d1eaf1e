#include "formats/tensor_taxonomy.h"

#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

namespace moedist {
namespace {

std::vector<std::string_view> SplitDots(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string_view::npos ? s.npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

// A decimal index without sign, leading zeros or overflow.
bool ParseIndex(std::string_view s, int* out) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// The tensor part a name's last component denotes, for names ending in a parameter suffix.
bool ParsePart(std::string_view last, TensorPart* part) {
  if (last == "weight") {
    *part = TensorPart::kWeight;
  } else if (last == "bias") {
    *part = TensorPart::kBias;
  } else if (last == "weight_scale_inv" || last == "weight_scale" || last == "input_scale") {
    *part = TensorPart::kScale;
  } else {
    return false;
  }
  return true;
}

Status Unknown(std::string_view name, const ModelConfig& c) {
  return Status::Unsupported("tensor \"{}\" is not a known tensor of a {} checkpoint", name,
                             FamilyName(c.family));
}

bool IsMlpContainer(std::string_view s) {
  return s == "mlp" || s == "block_sparse_moe" || s == "feed_forward";
}

Result<ExpertProjection> ProjectionFromName(std::string_view s) {
  if (s == "gate_proj" || s == "w1") return ExpertProjection::kGate;
  if (s == "up_proj" || s == "w3") return ExpertProjection::kUp;
  if (s == "down_proj" || s == "w2") return ExpertProjection::kDown;
  return Status::NotFound("not a projection");
}

// Classifies the part of a name after "model.layers.{L}.".
Result<TensorRole> ClassifyLayerTensor(std::string_view name,
                                       const std::vector<std::string_view>& p, int layer,
                                       const ModelConfig& c) {
  TensorRole role{TensorClass::kAttention, layer};
  const bool moe = c.is_moe_layer[layer];
  if (p.size() == 2 && (p[0] == "input_layernorm" || p[0] == "post_attention_layernorm") &&
      p[1] == "weight") {
    role.cls = TensorClass::kNorm;
    return role;
  }
  if (p.size() >= 2 && p[0] == "self_attn") {
    if (p.size() == 2 && p[1] == "sinks") return role;  // GPT-OSS attention sinks
    if (p.size() != 3 || !ParsePart(p[2], &role.part)) return Unknown(name, c);
    static const std::set<std::string_view> kProj = {
        "q_proj",   "k_proj", "v_proj", "o_proj", "q_a_proj", "q_b_proj", "kv_a_proj_with_mqa",
        "kv_b_proj"};
    static const std::set<std::string_view> kNorms = {"q_norm", "k_norm", "q_a_layernorm",
                                                      "kv_a_layernorm"};
    if (kProj.count(p[1])) return role;
    if (kNorms.count(p[1])) {
      role.cls = TensorClass::kNorm;
      return role;
    }
    return Unknown(name, c);
  }
  if (p.empty() || !IsMlpContainer(p[0])) return Unknown(name, c);

  // Router: mlp.gate / block_sparse_moe.gate / feed_forward.router / mlp.router.
  if (p.size() == 3 && (p[1] == "gate" || p[1] == "router")) {
    if (!moe) {
      return Status::Corruption(
          "tensor \"{}\": router in layer {}, which config.json makes a "
          "dense layer",
          name, layer);
    }
    if (p[2] == "e_score_correction_bias") {
      role.cls = TensorClass::kRouterBias;
      role.part = TensorPart::kBias;
      return role;
    }
    if (!ParsePart(p[2], &role.part)) return Unknown(name, c);
    role.cls =
        role.part == TensorPart::kBias ? TensorClass::kRouterBias : TensorClass::kRouterWeight;
    return role;
  }
  // Routed experts, per-expert layout: mlp.experts.{E}.{proj}.{weight|scale}.
  if (p.size() == 5 && p[1] == "experts") {
    int expert;
    if (!ParseIndex(p[2], &expert)) return Unknown(name, c);
    auto proj = ProjectionFromName(p[3]);
    if (!proj.ok() || !ParsePart(p[4], &role.part)) return Unknown(name, c);
    if (!moe) {
      return Status::Corruption(
          "tensor \"{}\": routed expert in layer {}, which config.json "
          "makes a dense layer",
          name, layer);
    }
    if (expert >= c.routing.num_experts) {
      return Status::Corruption("tensor \"{}\": expert {} but config.json has {} experts", name,
                                expert, c.routing.num_experts);
    }
    role.cls = TensorClass::kRoutedExpert;
    role.expert = expert;
    role.projection = *proj;
    return role;
  }
  // Routed experts, packed: mlp.experts.{gate_up_proj|down_proj}[_bias|_blocks|_scales].
  if (p.size() == 3 && p[1] == "experts") {
    static const std::map<std::string_view, std::pair<ExpertProjection, TensorPart>> kPacked = {
        {"gate_up_proj", {ExpertProjection::kGateUp, TensorPart::kWeight}},
        {"down_proj", {ExpertProjection::kDown, TensorPart::kWeight}},
        {"gate_up_proj_bias", {ExpertProjection::kGateUp, TensorPart::kBias}},
        {"down_proj_bias", {ExpertProjection::kDown, TensorPart::kBias}},
        {"gate_up_proj_blocks", {ExpertProjection::kGateUp, TensorPart::kBlocks}},
        {"down_proj_blocks", {ExpertProjection::kDown, TensorPart::kBlocks}},
        {"gate_up_proj_scales", {ExpertProjection::kGateUp, TensorPart::kScale}},
        {"down_proj_scales", {ExpertProjection::kDown, TensorPart::kScale}},
    };
    auto it = kPacked.find(p[2]);
    if (it == kPacked.end()) return Unknown(name, c);
    if (!moe) {
      return Status::Corruption(
          "tensor \"{}\": packed experts in layer {}, which config.json "
          "makes a dense layer",
          name, layer);
    }
    role.cls = TensorClass::kRoutedExpertsPacked;
    role.projection = it->second.first;
    role.part = it->second.second;
    return role;
  }
  // Shared experts: mlp.shared_expert(s).{proj}.{part}; Qwen2 gate: mlp.shared_expert_gate.weight.
  if (p.size() == 3 && p[1] == "shared_expert_gate" && ParsePart(p[2], &role.part)) {
    role.cls = TensorClass::kSharedExpertGate;
    return role;
  }
  if (p.size() == 4 && (p[1] == "shared_expert" || p[1] == "shared_experts")) {
    auto proj = ProjectionFromName(p[2]);
    if (!proj.ok() || !ParsePart(p[3], &role.part)) return Unknown(name, c);
    role.cls = TensorClass::kSharedExpert;
    role.projection = *proj;
    return role;
  }
  // Dense MLP of a non-MoE layer: mlp.{gate,up,down}_proj.{part}.
  if (p.size() == 3) {
    auto proj = ProjectionFromName(p[1]);
    if (!proj.ok() || !ParsePart(p[2], &role.part)) return Unknown(name, c);
    if (moe) {
      return Status::Corruption(
          "tensor \"{}\": dense MLP in layer {}, which config.json makes "
          "a MoE layer",
          name, layer);
    }
    role.cls = TensorClass::kDenseMlp;
    role.projection = *proj;
    return role;
  }
  return Unknown(name, c);
}

std::string ShapeString(const std::vector<uint64_t>& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

// Expected shape of a plain weight, or empty when this role is not shape-checked.
std::vector<uint64_t> ExpectedShape(const TensorRole& r, const std::string& name,
                                    const ModelConfig& c) {
  const uint64_t H = c.hidden_size, V = c.vocab_size, E = c.routing.num_experts;
  const uint64_t I = c.moe_intermediate_size;
  if (r.part == TensorPart::kBias && r.cls == TensorClass::kRouterBias) return {E};
  if (r.part != TensorPart::kWeight) return {};
  switch (r.cls) {
    case TensorClass::kEmbedding:
    case TensorClass::kLmHead: return {V, H};
    case TensorClass::kRouterWeight: return {E, H};
    case TensorClass::kRoutedExpert:
      return r.projection == ExpertProjection::kDown ? std::vector<uint64_t>{H, I}
                                                     : std::vector<uint64_t>{I, H};
    case TensorClass::kSharedExpert: {
      const uint64_t S = c.shared_intermediate_size;
      return r.projection == ExpertProjection::kDown ? std::vector<uint64_t>{H, S}
                                                     : std::vector<uint64_t>{S, H};
    }
    case TensorClass::kSharedExpertGate: return {1, H};
    case TensorClass::kDenseMlp: {
      const uint64_t D = c.intermediate_size;
      return r.projection == ExpertProjection::kDown ? std::vector<uint64_t>{H, D}
                                                     : std::vector<uint64_t>{D, H};
    }
    case TensorClass::kNorm:
      if (name.ends_with("input_layernorm.weight") ||
          name.ends_with("post_attention_layernorm.weight") || r.layer < 0) {
        return {H};
      }
      return {};
    default: return {};
  }
}

}  // namespace

std::string_view TensorClassName(TensorClass c) {
  switch (c) {
    case TensorClass::kEmbedding: return "embedding";
    case TensorClass::kAttention: return "attention";
    case TensorClass::kNorm: return "norm";
    case TensorClass::kRouterWeight: return "router_weight";
    case TensorClass::kRouterBias: return "router_bias";
    case TensorClass::kSharedExpert: return "shared_expert";
    case TensorClass::kSharedExpertGate: return "shared_expert_gate";
    case TensorClass::kDenseMlp: return "dense_mlp";
    case TensorClass::kRoutedExpert: return "routed_expert";
    case TensorClass::kRoutedExpertsPacked: return "routed_experts_packed";
    case TensorClass::kLmHead: return "lm_head";
    case TensorClass::kVision: return "vision";
  }
  return "unknown";
}

std::string_view ExpertProjectionName(ExpertProjection p) {
  switch (p) {
    case ExpertProjection::kNone: return "none";
    case ExpertProjection::kGate: return "gate";
    case ExpertProjection::kUp: return "up";
    case ExpertProjection::kDown: return "down";
    case ExpertProjection::kGateUp: return "gate_up";
  }
  return "unknown";
}

Result<TensorRole> ClassifyTensor(std::string_view full_name, const ModelConfig& c) {
  std::string_view name = full_name;
  if (!c.weight_prefix.empty()) {
    if (name.starts_with("vision_model.") || name.starts_with("multi_modal_projector.")) {
      return TensorRole{TensorClass::kVision};
    }
    if (!name.starts_with(c.weight_prefix)) return Unknown(full_name, c);
    name.remove_prefix(c.weight_prefix.size());
  }
  std::vector<std::string_view> p = SplitDots(name);
  TensorRole role{TensorClass::kEmbedding};
  if (p.size() == 2 && p[0] == "lm_head" && ParsePart(p[1], &role.part)) {
    role.cls = TensorClass::kLmHead;
    return role;
  }
  if (p.size() < 3 || p[0] != "model") return Unknown(full_name, c);
  if (p.size() == 3 && p[1] == "embed_tokens" && p[2] == "weight") return role;
  if (p.size() == 3 && p[1] == "norm" && p[2] == "weight") {
    role.cls = TensorClass::kNorm;
    return role;
  }
  int layer;
  if (p.size() >= 4 && p[1] == "layers" && ParseIndex(p[2], &layer)) {
    if (layer >= c.num_layers) {
      return Status::Corruption("tensor \"{}\": layer {} but config.json has {} layers", full_name,
                                layer, c.num_layers);
    }
    std::vector<std::string_view> rest(p.begin() + 3, p.end());
    return ClassifyLayerTensor(full_name, rest, layer, c);
  }
  return Unknown(full_name, c);
}

Result<std::vector<ExpertView>> PackedExpertViews(const CheckpointTensor& t, const TensorRole& r,
                                                  const ModelConfig& c) {
  const auto& shape = t.shape();
  const uint64_t E = c.routing.num_experts;
  if (shape.empty() || shape[0] != E) {
    return Status::Corruption(
        "tensor \"{}\": packed expert tensor of shape {}, expected {} "
        "experts on axis 0",
        t.name, ShapeString(shape), E);
  }
  if (t.num_bytes() % E != 0) {
    return Status::Corruption("tensor \"{}\": {} bytes do not split into {} experts", t.name,
                              t.num_bytes(), E);
  }
  const uint64_t per_expert = t.num_bytes() / E;
  std::vector<uint64_t> expert_shape(shape.begin() + 1, shape.end());
  std::vector<ExpertView> views;
  for (uint64_t e = 0; e < E; ++e) {
    const uint64_t base = e * per_expert;
    views.push_back(
        {static_cast<int>(e), r.projection, {base, per_expert, per_expert, 1}, expert_shape});
    if (r.projection != ExpertProjection::kGateUp || r.part != TensorPart::kWeight) continue;
    if (expert_shape.size() != 2) {
      return Status::Corruption(
          "tensor \"{}\": fused gate/up tensor of shape {}, expected 3 "
          "dimensions",
          t.name, ShapeString(shape));
    }
    const uint64_t elem_bits = DTypeBits(t.dtype());
    const uint64_t rows = expert_shape[0], cols = expert_shape[1];
    if (c.family == Family::kLlama4) {
      // [E, H, 2I]: in each of the H rows, gate owns the first I columns, up the last I.
      if (cols % 2 != 0 || (cols / 2) * elem_bits % 8 != 0) {
        return Status::Corruption("tensor \"{}\": last dimension {} is not 2 × intermediate",
                                  t.name, cols);
      }
      const uint64_t half = (cols / 2) * elem_bits / 8, row = cols * elem_bits / 8;
      views.push_back({static_cast<int>(e),
                       ExpertProjection::kGate,
                       {base, half, row, rows},
                       {rows, cols / 2}});
      views.push_back({static_cast<int>(e),
                       ExpertProjection::kUp,
                       {base + half, half, row, rows},
                       {rows, cols / 2}});
    } else if (c.family == Family::kGptOss) {
      // [E, H, 2I] bf16 form: gate and up interleave along the last axis (even / odd columns);
      // the parts are element-strided, so only whole-expert views are offered.
      continue;
    } else {
      // transformers v5 fused [E, 2I, H]: gate owns rows [0, I), up rows [I, 2I).
      if (rows % 2 != 0) {
        return Status::Corruption("tensor \"{}\": dimension 1 is {}, expected 2 × intermediate",
                                  t.name, rows);
      }
      const uint64_t half = per_expert / 2;
      views.push_back(
          {static_cast<int>(e), ExpertProjection::kGate, {base, half, half, 1}, {rows / 2, cols}});
      views.push_back({static_cast<int>(e),
                       ExpertProjection::kUp,
                       {base + half, half, half, 1},
                       {rows / 2, cols}});
    }
  }
  return views;
}

void GatherStrided(std::span<const uint8_t> src, const StridedBytes& v, uint8_t* dst) {
  for (uint64_t i = 0; i < v.rows; ++i) {
    std::memcpy(dst + i * v.row_bytes, src.data() + v.offset + i * v.row_stride, v.row_bytes);
  }
}

Result<std::vector<ClassifiedTensor>> ClassifyCheckpoint(const Checkpoint& ckpt,
                                                         std::vector<std::string>* unclassified) {
  const ModelConfig& c = ckpt.config();
  std::vector<ClassifiedTensor> out;
  // Per MoE layer: router present, expert projections seen.
  std::map<int, bool> router_seen;
  std::map<int, std::set<std::pair<int, int>>> expert_parts;  // layer -> {(expert, projection)}
  std::map<int, std::set<int>> packed_parts;                  // layer -> {projection}
  for (const CheckpointTensor& t : ckpt.tensors()) {
    auto classified = ClassifyTensor(t.name, c);
    if (!classified.ok() && unclassified &&
        classified.status().code() == StatusCode::kUnsupported) {
      unclassified->push_back(t.name);
      continue;
    }
    RETURN_IF_ERROR(classified.status());
    const TensorRole& role = *classified;
    std::vector<uint64_t> expected = ExpectedShape(role, t.name, c);
    if (!expected.empty() && t.shape() != expected) {
      return Status::Corruption("tensor \"{}\" ({}) in {} has shape {} but config.json implies {}",
                                t.name, TensorClassName(role.cls),
                                std::filesystem::path(t.shard->path()).filename().string(),
                                ShapeString(t.shape()), ShapeString(expected));
    }
    if (role.cls == TensorClass::kRouterWeight) router_seen[role.layer] = true;
    if (role.cls == TensorClass::kRoutedExpert && role.part == TensorPart::kWeight) {
      expert_parts[role.layer].insert({role.expert, static_cast<int>(role.projection)});
    }
    if (role.cls == TensorClass::kRoutedExpertsPacked &&
        (role.part == TensorPart::kWeight || role.part == TensorPart::kBlocks)) {
      RETURN_IF_ERROR(PackedExpertViews(t, role, c).status());
      packed_parts[role.layer].insert(static_cast<int>(role.projection));
    }
    out.push_back({&t, role});
  }
  const std::string source = ckpt.dir();
  if (unclassified && !unclassified->empty()) return out;  // completeness is moot
  for (int layer : c.MoeLayers()) {
    if (!router_seen[layer]) {
      return Status::Corruption("{}: MoE layer {} has no router weight", source, layer);
    }
    if (packed_parts.count(layer)) {
      if (packed_parts[layer].size() != 2) {
        return Status::Corruption(
            "{}: MoE layer {} has packed experts without both gate_up and "
            "down tensors",
            source, layer);
      }
      continue;
    }
    const auto& parts = expert_parts[layer];
    for (int e = 0; e < c.routing.num_experts; ++e) {
      for (ExpertProjection p :
           {ExpertProjection::kGate, ExpertProjection::kUp, ExpertProjection::kDown}) {
        if (!parts.count({e, static_cast<int>(p)})) {
          return Status::Corruption(
              "{}: MoE layer {} expert {} has no {} projection weight "
              "(config.json says {} experts)",
              source, layer, e, ExpertProjectionName(p), c.routing.num_experts);
        }
      }
    }
  }
  if (!ckpt.Find(c.weight_prefix + "model.embed_tokens.weight")) {
    return Status::Corruption("{}: no model.embed_tokens.weight", source);
  }
  return out;
}

}  // namespace moedist
