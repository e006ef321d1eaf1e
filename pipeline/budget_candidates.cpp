#include "pipeline/budget_candidates.h"

#include <algorithm>
#include <filesystem>

#include "pipeline/overlay_select.h"
#include "pipeline/pack_layout.h"
#include "pipeline/partition_search.h"
#include "quant/decode_f32.h"
#include "quant/quantize.h"

namespace moedist {
namespace {
namespace fs = std::filesystem;

// Safetensors header bytes per tensor (name, dtype, shape, offsets and the moedist.quant metadata
// entry as JSON): an allowance for the prediction, measured on the example model's quantized
// bundles (about 320); measuring reads the real sizes.
constexpr uint64_t kHeaderBytesPerTensor = 330;

bool IsTrunkMatrixClass(TensorClass c) {
  return c == TensorClass::kEmbedding || c == TensorClass::kAttention ||
         c == TensorClass::kSharedExpert || c == TensorClass::kDenseMlp ||
         c == TensorClass::kLmHead;
}

bool Decodable(DType d) {
  return d == DType::kF32 || d == DType::kF16 || d == DType::kBF16;
}

// The type a row of `row_length` values is stored in when `t` is asked for (the recipe's
// fallback chain, pack_recipe.h), or nullopt for keep.
std::optional<QuantType> StoredFor(const RecipeType& t, uint64_t row_length, DType source) {
  std::optional<QuantType> q = t.type;
  while (q && row_length % GetQuantTypeInfo(*q).block_elements != 0) {
    q = FallbackType(*q, source);
  }
  return q;
}

// Σ (w − Q(w))² and Σ w² over `rows` rows of `row_length` values starting at `row0`, spaced.
struct ErrorSums {
  double num = 0, den = 0;
  double Relative() const { return den > 0 ? num / den : 0; }
};

Status AddRowErrors(const CheckpointTensor& t, uint64_t first_row, uint64_t rows,
                    uint64_t row_length, int samples, const std::vector<RecipeType>& types,
                    std::map<std::string, ErrorSums>& sums) {
  const uint64_t elem = GetDTypeInfo(t.dtype()).bits / 8;
  std::vector<float> x(row_length), y(row_length);
  std::vector<uint8_t> q;
  const uint64_t step = std::max<uint64_t>(1, rows / static_cast<uint64_t>(samples));
  for (uint64_t r = 0; r < rows; r += step) {
    const uint64_t offset = (first_row + r) * row_length * elem;
    RETURN_IF_ERROR(DecodeToF32(t.dtype(), t.bytes().subspan(offset, row_length * elem), x));
    double w2 = 0;
    for (float v : x) w2 += static_cast<double>(v) * v;
    for (const RecipeType& type : types) {
      const std::optional<QuantType> stored = StoredFor(type, row_length, t.dtype());
      ErrorSums& s = sums[type.Name()];
      s.den += w2;
      if (!stored || *stored == QuantType::kF32) continue;
      ASSIGN_OR_RETURN(uint64_t bytes, QuantRowBytes(*stored, row_length));
      q.resize(bytes);
      RETURN_IF_ERROR(QuantizeRow(*stored, x, q));
      RETURN_IF_ERROR(DequantizeRow(*stored, q, y));
      for (uint64_t i = 0; i < row_length; ++i) {
        const double d = static_cast<double>(x[i]) - y[i];
        s.num += d * d;
      }
    }
  }
  return Status::Ok();
}

}  // namespace

std::string CandidateConfig::Id() const {
  if (whole) return fmt::format("whole t={} e={}", trunk.Name(), experts.Name());
  return fmt::format("split G={} o={} t={} g={} ov={}{}{}", groups, overlay, trunk.Name(),
                     experts.Name(), overlay_type.Name(),
                     overlay_layers.empty() ? "" : " alloc=sensitivity",
                     proxies > 0 ? fmt::format(" proxies={}", proxies) : "");
}

int SplitExpertsPerNode(int num_experts, int groups, int overlay, int proxies_per_group) {
  return (num_experts - overlay + groups - 1) / groups + overlay + (groups - 1) * proxies_per_group;
}

std::optional<ProxySplit> MostProxies(int num_experts, int groups, int slots) {
  if (groups < 2 || num_experts < groups) return std::nullopt;
  const int own = SplitExpertsPerNode(num_experts, groups, 0, 0);
  const int most = std::min((slots - own) / (groups - 1), num_experts / groups);
  if (slots < own || most < 1) return std::nullopt;
  ProxySplit s{0, most};
  // The slots left over go to the overlay, kept smaller than the smallest group.
  for (int ov = 1; ov < (num_experts - ov) / groups; ++ov) {
    if (SplitExpertsPerNode(num_experts, groups, ov, most) > slots) break;
    s.overlay = ov;
  }
  return s;
}

std::map<int, int> OverlayCounts(const GateProfile& p, const CandidateConfig& c) {
  std::map<int, int> out;
  for (const LayerGateProfile& l : p.layers) {
    auto it = c.overlay_layers.find(l.layer);
    out[l.layer] = c.whole ? 0 : it != c.overlay_layers.end() ? it->second : c.overlay;
  }
  return out;
}

std::map<int, int> AllocateOverlayBySensitivity(const std::map<int, double>& delta_by_layer,
                                                int overlay, int num_experts, int groups) {
  std::map<int, int> out;
  double total = 0;
  for (const auto& [layer, d] : delta_by_layer) total += std::max(0.0, -d);
  const int layers = static_cast<int>(delta_by_layer.size());
  // Counts move in steps of `groups` from the residue of E mod G, so that every layer's groups
  // stay equal (the node's bytes stay those of the uniform allocation), and stay smaller than a
  // group, as every plan must (CheckPlan).
  const int residue = num_experts % groups;
  const int units = (overlay * layers - residue * layers) / groups;
  int cap = -1;
  for (int u = 0;; ++u) {
    const int k = residue + groups * u;
    if (!(k == 0 || k < (num_experts - k) / groups)) break;
    cap = u;
  }
  if (!(total > 0) || units < 0 || cap < 0) {
    for (const auto& [layer, d] : delta_by_layer) out[layer] = overlay;
    return out;
  }
  std::map<int, int> given_units;
  std::vector<std::pair<double, int>> remainders;
  int given = 0;
  for (const auto& [layer, d] : delta_by_layer) {
    const double share = units * std::max(0.0, -d) / total;
    const int u = std::min(cap, static_cast<int>(share));
    given_units[layer] = u;
    given += u;
    remainders.push_back({share - u, layer});
  }
  // Largest remainder first; a layer at its cap passes its turn on.
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (bool progress = true; given < units && progress;) {
    progress = false;
    for (const auto& [rem, layer] : remainders) {
      if (given == units) break;
      if (given_units[layer] < cap) {
        ++given_units[layer];
        ++given;
        progress = true;
      }
    }
  }
  for (const auto& [layer, u] : given_units) out[layer] = residue + groups * u;
  return out;
}

PackRecipe CandidateRecipe(const CandidateConfig& c) {
  PackRecipe r;
  nlohmann::json classes = nlohmann::json::object();
  auto set = [&](const char* cls, const RecipeType& t) {
    r.classes[cls] = t;
    classes[cls] = t.Name();
  };
  for (const char* cls : {"embedding", "attention", "shared_expert", "dense_mlp", "lm_head"}) {
    set(cls, c.trunk);
  }
  for (const char* cls : {"norm", "router_weight", "router_bias", "shared_expert_gate", "vision"}) {
    set(cls, RecipeType{});
  }
  set("routed_expert", c.experts);
  set("overlay", c.whole ? c.experts : c.overlay_type);
  r.source = {{"name", "budget"},
              {"description", "chosen by moedist plan --node-bytes: " + c.Id()},
              {"default", "keep"},
              {"classes", classes}};
  return r;
}

ExpertPlan CandidateSizingPlan(const GateProfile& p, const CandidateConfig& c) {
  std::map<int, std::vector<int>> overlay;
  for (const auto& [layer, k] : OverlayCounts(p, c)) {
    if (k > 0) overlay[layer] = SelectOverlay(*p.FindLayer(layer), p.num_experts, k);
  }
  return ContiguousPlan(p, c.whole ? 1 : c.groups, overlay);
}

Result<uint64_t> PredictNodeBytes(const Checkpoint& ckpt,
                                  const std::vector<ClassifiedTensor>& classified,
                                  const std::string& checkpoint_dir, const ExpertPlan& plan,
                                  const PackRecipe& recipe) {
  ASSIGN_OR_RETURN(ReleaseLayout layout, PlanRelease(ckpt, classified, plan, recipe, {}));
  uint64_t aux = 0;
  for (const std::string& f : CheckpointAuxFiles(checkpoint_dir)) {
    std::error_code ec;
    const uint64_t size = fs::file_size(fs::path(checkpoint_dir) / f, ec);
    if (!ec) aux += size;
  }
  uint64_t largest = 0;
  for (const NodePlan& n : layout.nodes) {
    uint64_t bytes =
        aux + n.config_text.size() + n.index_text.size() + NodeInfoToJson(n.info).dump().size();
    for (const std::string& b : n.info.bundles) {
      const BundlePlan* bundle = b == n.info.node ? &n.shard : layout.FindBundle(b);
      if (bundle == nullptr) continue;
      bytes += bundle->total_bytes() + kHeaderBytesPerTensor * bundle->tensors.size();
    }
    largest = std::max(largest, bytes);
  }
  return largest;
}

Result<QuantErrorTable> QuantErrorTable::Measure(const std::vector<ClassifiedTensor>& classified,
                                                 const GateProfile& profile,
                                                 const std::vector<RecipeType>& types,
                                                 int rows_per_tensor, int experts_per_layer) {
  QuantErrorTable out;
  out.profile_ = &profile;
  // Which experts to sample per layer: the hottest by gate mass.
  std::map<int, std::vector<int>> sampled;
  for (int layer : profile.moe_layers) {
    std::vector<int> ids(profile.num_experts);
    for (int e = 0; e < profile.num_experts; ++e) ids[e] = e;
    if (const LayerGateProfile* l = profile.FindLayer(layer)) {
      std::stable_sort(ids.begin(), ids.end(),
                       [&](int a, int b) { return l->gate_mass[a] > l->gate_mass[b]; });
    }
    ids.resize(std::min<size_t>(ids.size(), std::max(1, experts_per_layer)));
    std::sort(ids.begin(), ids.end());
    sampled[layer] = ids;
  }
  auto is_sampled = [&](int layer, int e) {
    auto it = sampled.find(layer);
    return it != sampled.end() && std::binary_search(it->second.begin(), it->second.end(), e);
  };

  std::map<std::string, double> trunk_weighted, trunk_elems;
  std::map<int, std::map<int, std::map<std::string, ErrorSums>>> expert_sums;
  for (const ClassifiedTensor& ct : classified) {
    const CheckpointTensor& t = *ct.tensor;
    const TensorRole& role = ct.role;
    if (role.part != TensorPart::kWeight || !Decodable(t.dtype()) || t.shape().size() < 2) continue;
    const uint64_t row_length = t.shape().back();
    uint64_t rows = 1;
    for (size_t i = 0; i + 1 < t.shape().size(); ++i) rows *= t.shape()[i];
    if (IsTrunkMatrixClass(role.cls)) {
      std::map<std::string, ErrorSums> sums;
      RETURN_IF_ERROR(AddRowErrors(t, 0, rows, row_length, rows_per_tensor, types, sums));
      const double elems = static_cast<double>(rows * row_length);
      for (const auto& [name, s] : sums) {
        trunk_weighted[name] += elems * s.Relative();
        trunk_elems[name] += elems;
      }
    } else if (role.cls == TensorClass::kRoutedExpert) {
      if (!is_sampled(role.layer, role.expert)) continue;
      RETURN_IF_ERROR(AddRowErrors(t, 0, rows, row_length, rows_per_tensor, types,
                                   expert_sums[role.layer][role.expert]));
    } else if (role.cls == TensorClass::kRoutedExpertsPacked && t.shape().size() == 3) {
      const uint64_t per_expert = t.shape()[1];
      for (int e : sampled[role.layer]) {
        if (static_cast<uint64_t>(e) >= t.shape()[0]) continue;
        RETURN_IF_ERROR(AddRowErrors(t, e * per_expert, per_expert, row_length, rows_per_tensor,
                                     types, expert_sums[role.layer][e]));
      }
    }
  }
  for (const auto& [name, w] : trunk_weighted) {
    out.trunk_[name] = trunk_elems[name] > 0 ? w / trunk_elems[name] : 0;
  }
  for (const auto& [layer, by_expert] : expert_sums) {
    for (const auto& [e, sums] : by_expert) {
      for (const auto& [name, s] : sums) out.experts_[name][layer][e] = s.Relative();
    }
  }
  return out;
}

double QuantErrorTable::Trunk(const RecipeType& t) const {
  auto it = trunk_.find(t.Name());
  return it == trunk_.end() ? 0 : it->second;
}

double QuantErrorTable::Experts(const RecipeType& t, int overlay, bool in_overlay) const {
  auto it = experts_.find(t.Name());
  if (it == experts_.end() || it->second.empty()) return 0;
  double total = 0;
  int layers = 0;
  for (const auto& [layer, by_expert] : it->second) {
    const LayerGateProfile* l = profile_->FindLayer(layer);
    std::vector<int> ov;
    if (l != nullptr && overlay > 0) ov = SelectOverlay(*l, profile_->num_experts, overlay);
    double num = 0, den = 0, plain = 0;
    for (const auto& [e, err] : by_expert) {
      plain += err;
      const bool held_by_overlay = std::binary_search(ov.begin(), ov.end(), e);
      if (held_by_overlay != in_overlay) continue;
      const double w = l != nullptr ? l->gate_mass[e] : 1.0;
      num += w * err;
      den += w;
    }
    // No sampled expert on that side: the layer's plain mean stands in.
    total += den > 0 ? num / den : plain / static_cast<double>(by_expert.size());
    ++layers;
  }
  return layers ? total / layers : 0;
}

void FinishPrediction(CandidatePrediction& p) {
  const double quant = kTrunkQuantLoss * p.qerr_trunk + kExpertQuantLoss * p.qerr_experts;
  p.worst = -kCaptureLoss * (1 - p.captured_worst) - quant;
  p.placed = -kCaptureLoss * (1 - p.captured_mean) - quant;
}

std::vector<CandidateConfig> EnumerateConfigs(int nodes, int num_experts,
                                              const std::vector<RecipeType>& trunk_types,
                                              const std::vector<RecipeType>& expert_types) {
  // Precision order: position in expert_types (highest first); the trunk never gets a lower
  // precision than the experts, the overlay never a lower one than the groups.
  auto rank = [&](const RecipeType& t) {
    auto it = std::find(expert_types.begin(), expert_types.end(), t);
    return static_cast<int>(it - expert_types.begin());
  };
  std::vector<CandidateConfig> out;
  for (const RecipeType& t : trunk_types) {
    for (const RecipeType& e : expert_types) {
      if (rank(e) < rank(t)) continue;
      out.push_back({true, 1, 0, t, e, e});
    }
  }
  for (int g = 2; g <= std::min(nodes, num_experts); ++g) {
    if (nodes % g != 0) continue;
    for (const RecipeType& t : trunk_types) {
      for (size_t i = 0; i < expert_types.size(); ++i) {
        const RecipeType& e = expert_types[i];
        if (rank(e) < rank(t)) continue;
        out.push_back({false, g, 0, t, e, e});
        if (i > 0 && rank(expert_types[i - 1]) >= rank(t)) {
          out.push_back({false, g, 0, t, e, expert_types[i - 1]});
        }
      }
    }
  }
  return out;
}

std::vector<RecipeType> BudgetTrunkTypes() {
  std::vector<RecipeType> out = {RecipeType{}};
  for (const char* name : {"q8_0", "q6_k", "q4_k"}) {
    if (auto t = ParseQuantType(name); t.ok()) out.push_back({*t});
  }
  return out;
}

std::vector<RecipeType> BudgetExpertTypes() {
  // q4_0 is left out: q4_k stores the same 4.5 bits per weight with a smaller error.
  std::vector<RecipeType> out = {RecipeType{}};
  for (const char* name : {"q8_0", "q6_k", "q5_k", "q4_k", "q3_k", "q2_k"}) {
    if (auto t = ParseQuantType(name); t.ok()) out.push_back({*t});
  }
  return out;
}

}  // namespace moedist
