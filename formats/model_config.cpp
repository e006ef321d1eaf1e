#include "formats/model_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/json_strict.h"
#include "core/mapped_file.h"

namespace moedist {
namespace {

constexpr uint64_t kMaxConfigBytes = 4ull << 20;
// Bounds that keep later allocations proportional to real models (the largest public MoE
// configs are far below these).
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxExperts = 65536;
constexpr int64_t kMaxWidth = 1 << 22;
constexpr int64_t kMaxVocab = 1 << 24;

// Reads typed fields from one JSON object; errors name the file and field.
class FieldReader {
 public:
  FieldReader(const nlohmann::json& obj, const std::string& source) : obj_(obj), source_(source) {}

  bool Has(const char* key) const { return obj_.contains(key) && !obj_[key].is_null(); }
  const std::string& source() const { return source_; }

  Result<int> Int(const char* key, int64_t min, int64_t max) const {
    if (!Has(key)) return Status::Corruption("{}: missing field \"{}\"", source_, key);
    const auto& v = obj_[key];
    if (!v.is_number_integer()) {
      return Status::Corruption("{}: field \"{}\" is {}, expected an integer", source_, key,
                                v.dump());
    }
    // Unsigned literals above INT64_MAX would wrap in get<int64_t>(); report them as written.
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max)) {
      return Status::Corruption("{}: field \"{}\" is {}, expected {}..{}", source_, key,
                                v.get<uint64_t>(), min, max);
    }
    int64_t x = v.get<int64_t>();
    if (x < min || x > max) {
      return Status::Corruption("{}: field \"{}\" is {}, expected {}..{}", source_, key, x, min,
                                max);
    }
    return static_cast<int>(x);
  }
  Result<int> IntOr(const char* key, int fallback, int64_t min, int64_t max) const {
    if (!Has(key)) return fallback;
    return Int(key, min, max);
  }
  // A reader over the nested object `key`, which must be present and an object.
  Result<FieldReader> Object(const char* key) const {
    if (!Has(key) || !obj_[key].is_object()) {
      return Status::Corruption("{}: field \"{}\" is {}, expected an object", source_, key,
                                Has(key) ? obj_[key].dump() : "missing");
    }
    return FieldReader(obj_[key], source_);
  }

  Result<double> Number(const char* key, double fallback) const {
    if (!Has(key)) return fallback;
    const auto& v = obj_[key];
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      return Status::Corruption("{}: field \"{}\" is {}, expected a finite number", source_, key,
                                v.dump());
    }
    return v.get<double>();
  }
  Result<bool> Bool(const char* key, bool fallback) const {
    if (!Has(key)) return fallback;
    if (!obj_[key].is_boolean()) {
      return Status::Corruption("{}: field \"{}\" is {}, expected true or false", source_, key,
                                obj_[key].dump());
    }
    return obj_[key].get<bool>();
  }
  Result<std::string> String(const char* key, const std::string& fallback) const {
    if (!Has(key)) return fallback;
    if (!obj_[key].is_string()) {
      return Status::Corruption("{}: field \"{}\" is {}, expected a string", source_, key,
                                obj_[key].dump());
    }
    return obj_[key].get<std::string>();
  }
  // A list of integers each in [min, max].
  Result<std::vector<int>> IntList(const char* key, int64_t min, int64_t max) const {
    std::vector<int> out;
    if (!Has(key)) return out;
    const auto& v = obj_[key];
    if (!v.is_array()) {
      return Status::Corruption("{}: field \"{}\" is {}, expected a list of integers", source_, key,
                                v.dump());
    }
    for (const auto& e : v) {
      if (!e.is_number_integer() || e.get<int64_t>() < min || e.get<int64_t>() > max) {
        return Status::Corruption("{}: field \"{}\" has {}, expected integers in {}..{}", source_,
                                  key, e.dump(), min, max);
      }
      out.push_back(e.get<int>());
    }
    return out;
  }

  // The one value several spellings agree on ("num_experts" / "num_local_experts" /
  // "n_routed_experts"); spellings that disagree are a contradiction.
  Result<int> AgreedInt(std::initializer_list<const char*> keys, int64_t min, int64_t max) const {
    std::optional<int> value;
    const char* first = nullptr;
    for (const char* k : keys) {
      if (!Has(k)) continue;
      ASSIGN_OR_RETURN(int v, Int(k, min, max));
      if (value && *value != v) {
        return Status::Corruption("{}: contradictory expert counts: \"{}\" = {} but \"{}\" = {}",
                                  source_, first, *value, k, v);
      }
      value = v;
      first = first ? first : k;
    }
    if (!value) {
      std::string names;
      for (const char* k : keys) names += fmt::format("{}\"{}\"", names.empty() ? "" : " or ", k);
      return Status::Corruption("{}: missing field {}", source_, names);
    }
    return *value;
  }

 private:
  const nlohmann::json& obj_;
  const std::string& source_;
};

Result<Family> FamilyFromModelType(const std::string& model_type, const std::string& source) {
  if (model_type == "qwen3_moe") return Family::kQwen3Moe;
  if (model_type == "qwen2_moe") return Family::kQwen2Moe;
  if (model_type == "mixtral") return Family::kMixtral;
  if (model_type == "olmoe") return Family::kOlmoe;
  if (model_type == "deepseek_v3" || model_type == "deepseek_v2" || model_type == "kimi_k2") {
    return Family::kDeepseekV3;
  }
  if (model_type == "llama4_text" || model_type == "llama4") return Family::kLlama4;
  if (model_type == "gpt_oss") return Family::kGptOss;
  return Status::Unsupported(
      "{}: model_type \"{}\" is not a supported MoE family (qwen3_moe, "
      "qwen2_moe, mixtral, olmoe, deepseek_v2, deepseek_v3, kimi_k2, "
      "llama4, llama4_text, gpt_oss)",
      source, model_type);
}

// Fields every family shares.
Status ReadCommon(const FieldReader& r, ModelConfig& c) {
  ASSIGN_OR_RETURN(c.num_layers, r.Int("num_hidden_layers", 1, kMaxLayers));
  ASSIGN_OR_RETURN(c.hidden_size, r.Int("hidden_size", 1, kMaxWidth));
  ASSIGN_OR_RETURN(c.vocab_size, r.Int("vocab_size", 1, kMaxVocab));
  ASSIGN_OR_RETURN(c.rms_norm_eps, r.Number("rms_norm_eps", 1e-6));
  ASSIGN_OR_RETURN(c.tie_word_embeddings, r.Bool("tie_word_embeddings", false));
  ASSIGN_OR_RETURN(c.torch_dtype, r.String("torch_dtype", ""));
  ASSIGN_OR_RETURN(c.hidden_act, r.String("hidden_act", "silu"));
  ASSIGN_OR_RETURN(c.routing.top_k, r.Int("num_experts_per_tok", 1, kMaxExperts));
  AttentionConfig& a = c.attention;
  ASSIGN_OR_RETURN(a.num_heads, r.Int("num_attention_heads", 1, kMaxWidth));
  ASSIGN_OR_RETURN(a.num_kv_heads, r.IntOr("num_key_value_heads", a.num_heads, 1, kMaxWidth));
  ASSIGN_OR_RETURN(a.head_dim, r.IntOr("head_dim", c.hidden_size / a.num_heads, 1, kMaxWidth));
  ASSIGN_OR_RETURN(a.rope_theta, r.Number("rope_theta", 10000.0));
  // transformers v5 writes "rope_parameters": {"rope_theta", "rope_type", ...} instead; a config
  // with both spellings must agree.
  if (r.Has("rope_parameters")) {
    ASSIGN_OR_RETURN(FieldReader rope, r.Object("rope_parameters"));
    if (rope.Has("rope_theta")) {
      ASSIGN_OR_RETURN(double theta, rope.Number("rope_theta", 0.0));
      if (r.Has("rope_theta") && theta != a.rope_theta) {
        return Status::Corruption(
            "{}: contradictory RoPE bases: \"rope_theta\" = {} but "
            "\"rope_parameters.rope_theta\" = {}",
            r.source(), a.rope_theta, theta);
      }
      a.rope_theta = theta;
    }
  }
  ASSIGN_OR_RETURN(a.o_bias, r.Bool("attention_bias", false));
  a.qkv_bias = a.o_bias;
  return Status::Ok();
}

Status ReadQwenLike(const FieldReader& r, ModelConfig& c, bool qwen2) {
  // transformers v5 spells the expert count "num_local_experts"; hub configs "num_experts".
  ASSIGN_OR_RETURN(c.routing.num_experts,
                   r.AgreedInt({"num_experts", "num_local_experts"}, 1, kMaxExperts));
  ASSIGN_OR_RETURN(c.intermediate_size, r.Int("intermediate_size", 1, kMaxWidth));
  ASSIGN_OR_RETURN(c.moe_intermediate_size, r.Int("moe_intermediate_size", 1, kMaxWidth));
  ASSIGN_OR_RETURN(c.routing.norm_topk_prob, r.Bool("norm_topk_prob", false));
  ASSIGN_OR_RETURN(int step, r.IntOr("decoder_sparse_step", 1, 1, kMaxLayers));
  ASSIGN_OR_RETURN(std::vector<int> mlp_only, r.IntList("mlp_only_layers", 0, c.num_layers - 1));
  c.is_moe_layer.assign(c.num_layers, false);
  for (int i = 0; i < c.num_layers; ++i) {
    bool dense = std::find(mlp_only.begin(), mlp_only.end(), i) != mlp_only.end();
    c.is_moe_layer[i] = !dense && (i + 1) % step == 0;
  }
  if (qwen2) {
    ASSIGN_OR_RETURN(c.shared_intermediate_size,
                     r.Int("shared_expert_intermediate_size", 1, kMaxWidth));
    c.routing.num_shared_experts = 1;
    c.routing.shared_expert_gate = true;
    c.attention.qkv_bias = true;  // Qwen2 attention always has q/k/v biases
    c.attention.o_bias = false;
  } else {
    c.attention.qk_norm = AttentionConfig::QkNorm::kPerHead;
  }
  return Status::Ok();
}

Status ReadDeepseek(const FieldReader& r, ModelConfig& c) {
  RoutingConfig& rt = c.routing;
  AttentionConfig& a = c.attention;
  ASSIGN_OR_RETURN(rt.num_experts, r.AgreedInt({"n_routed_experts"}, 1, kMaxExperts));
  ASSIGN_OR_RETURN(rt.num_shared_experts, r.IntOr("n_shared_experts", 0, 0, kMaxExperts));
  ASSIGN_OR_RETURN(c.intermediate_size, r.Int("intermediate_size", 1, kMaxWidth));
  ASSIGN_OR_RETURN(c.moe_intermediate_size, r.Int("moe_intermediate_size", 1, kMaxWidth));
  // In 64 bits: both factors are bounded, their int product is not.
  const int64_t shared_width = int64_t{c.moe_intermediate_size} * rt.num_shared_experts;
  if (shared_width > kMaxWidth) {
    return Status::Corruption(
        "config.json: n_shared_experts {} × moe_intermediate_size {} = {} "
        "exceeds {}",
        rt.num_shared_experts, c.moe_intermediate_size, shared_width, kMaxWidth);
  }
  c.shared_intermediate_size = static_cast<int>(shared_width);
  ASSIGN_OR_RETURN(int first_dense, r.IntOr("first_k_dense_replace", 0, 0, c.num_layers));
  ASSIGN_OR_RETURN(int freq, r.IntOr("moe_layer_freq", 1, 1, kMaxLayers));
  c.is_moe_layer.assign(c.num_layers, false);
  for (int i = 0; i < c.num_layers; ++i) c.is_moe_layer[i] = i >= first_dense && i % freq == 0;
  const bool v2 = c.model_type == "deepseek_v2";
  ASSIGN_OR_RETURN(std::string scoring, r.String("scoring_func", v2 ? "softmax" : "sigmoid"));
  if (scoring == "softmax") {
    rt.scoring = ScoringFunc::kSoftmax;
  } else if (scoring == "sigmoid") {
    rt.scoring = ScoringFunc::kSigmoid;
  } else {
    return Status::Unsupported("config.json: scoring_func \"{}\" (expected softmax or sigmoid)",
                               scoring);
  }
  ASSIGN_OR_RETURN(rt.topk_method, r.String("topk_method", v2 ? "greedy" : "noaux_tc"));
  if (rt.topk_method != "greedy" && rt.topk_method != "group_limited_greedy" &&
      rt.topk_method != "noaux_tc") {
    return Status::Unsupported(
        "config.json: topk_method \"{}\" (expected greedy, "
        "group_limited_greedy or noaux_tc)",
        rt.topk_method);
  }
  rt.correction_bias = rt.topk_method == "noaux_tc";
  ASSIGN_OR_RETURN(rt.n_group, r.IntOr("n_group", 1, 1, kMaxExperts));
  ASSIGN_OR_RETURN(rt.topk_group, r.IntOr("topk_group", rt.n_group, 1, kMaxExperts));
  ASSIGN_OR_RETURN(rt.routed_scaling_factor, r.Number("routed_scaling_factor", 1.0));
  ASSIGN_OR_RETURN(rt.norm_topk_prob, r.Bool("norm_topk_prob", !v2));
  a.kind = AttentionKind::kMla;
  ASSIGN_OR_RETURN(a.q_lora_rank, r.IntOr("q_lora_rank", 0, 0, kMaxWidth));
  ASSIGN_OR_RETURN(a.kv_lora_rank, r.Int("kv_lora_rank", 1, kMaxWidth));
  ASSIGN_OR_RETURN(a.qk_nope_head_dim, r.Int("qk_nope_head_dim", 1, kMaxWidth));
  ASSIGN_OR_RETURN(a.qk_rope_head_dim, r.Int("qk_rope_head_dim", 1, kMaxWidth));
  ASSIGN_OR_RETURN(a.v_head_dim, r.Int("v_head_dim", 1, kMaxWidth));
  // HF writes head_dim = qk_rope_head_dim for MLA; the attention head is nope + rope wide.
  a.head_dim = a.qk_nope_head_dim + a.qk_rope_head_dim;
  ASSIGN_OR_RETURN(a.rope_interleave, r.Bool("rope_interleave", true));
  return Status::Ok();
}

Status ReadLlama4(const FieldReader& r, ModelConfig& c) {
  RoutingConfig& rt = c.routing;
  ASSIGN_OR_RETURN(rt.num_experts, r.AgreedInt({"num_local_experts"}, 1, kMaxExperts));
  ASSIGN_OR_RETURN(c.moe_intermediate_size, r.Int("intermediate_size", 1, kMaxWidth));
  ASSIGN_OR_RETURN(c.intermediate_size, r.Int("intermediate_size_mlp", 1, kMaxWidth));
  c.shared_intermediate_size = c.moe_intermediate_size;
  rt.num_shared_experts = 1;
  rt.scoring = ScoringFunc::kSigmoidTopk;
  rt.weight_scales_input = true;
  ASSIGN_OR_RETURN(std::vector<int> moe_layers, r.IntList("moe_layers", 0, c.num_layers - 1));
  ASSIGN_OR_RETURN(int step, r.IntOr("interleave_moe_layer_step", 1, 1, kMaxLayers));
  c.is_moe_layer.assign(c.num_layers, false);
  if (r.Has("moe_layers")) {
    for (int l : moe_layers) c.is_moe_layer[l] = true;
    for (int i = 0; i < c.num_layers; ++i) {
      if (c.is_moe_layer[i] != ((i + 1) % step == 0)) {
        return Status::Corruption(
            "config.json: \"moe_layers\" disagrees with "
            "\"interleave_moe_layer_step\" {} at layer {}",
            step, i);
      }
    }
  } else {
    for (int i = 0; i < c.num_layers; ++i) c.is_moe_layer[i] = (i + 1) % step == 0;
  }
  ASSIGN_OR_RETURN(std::vector<int> no_rope, r.IntList("no_rope_layers", 0, 1));
  c.attention.rope_layers.assign(c.num_layers, true);
  if (!no_rope.empty()) {
    if (static_cast<int>(no_rope.size()) != c.num_layers) {
      return Status::Corruption(
          "config.json: \"no_rope_layers\" has {} entries, expected {} "
          "(num_hidden_layers)",
          no_rope.size(), c.num_layers);
    }
    for (int i = 0; i < c.num_layers; ++i) c.attention.rope_layers[i] = no_rope[i] != 0;
  }
  ASSIGN_OR_RETURN(bool qk_norm, r.Bool("use_qk_norm", false));
  if (qk_norm) c.attention.qk_norm = AttentionConfig::QkNorm::kL2;
  c.expert_layout = ExpertLayout::kPackedLlama4;
  return Status::Ok();
}

Status ReadGptOss(const FieldReader& r, ModelConfig& c) {
  RoutingConfig& rt = c.routing;
  ASSIGN_OR_RETURN(rt.num_experts,
                   r.AgreedInt({"num_local_experts", "num_experts"}, 1, kMaxExperts));
  if (r.Has("experts_per_token")) {
    ASSIGN_OR_RETURN(int k, r.Int("experts_per_token", 1, kMaxExperts));
    if (k != rt.top_k) {
      return Status::Corruption(
          "config.json: \"experts_per_token\" = {} but "
          "\"num_experts_per_tok\" = {}",
          k, rt.top_k);
    }
  }
  ASSIGN_OR_RETURN(c.moe_intermediate_size, r.Int("intermediate_size", 1, kMaxWidth));
  c.is_moe_layer.assign(c.num_layers, true);
  rt.scoring = ScoringFunc::kSoftmaxTopk;
  rt.router_bias = true;
  c.attention.qkv_bias = c.attention.o_bias = true;
  ASSIGN_OR_RETURN(c.attention.sliding_window, r.IntOr("sliding_window", 0, 0, 1 << 30));
  c.expert_layout = ExpertLayout::kPackedGptOss;
  return Status::Ok();
}

Status CheckConsistency(const ModelConfig& c, const std::string& source) {
  const RoutingConfig& rt = c.routing;
  if (rt.top_k > rt.num_experts) {
    return Status::Corruption("{}: num_experts_per_tok {} exceeds the {} routed experts", source,
                              rt.top_k, rt.num_experts);
  }
  if (c.attention.num_heads % c.attention.num_kv_heads != 0) {
    return Status::Corruption(
        "{}: num_attention_heads {} is not a multiple of "
        "num_key_value_heads {}",
        source, c.attention.num_heads, c.attention.num_kv_heads);
  }
  if (rt.num_experts % rt.n_group != 0) {
    return Status::Corruption("{}: n_group {} does not divide the {} routed experts", source,
                              rt.n_group, rt.num_experts);
  }
  if (rt.topk_group > rt.n_group) {
    return Status::Corruption("{}: topk_group {} exceeds n_group {}", source, rt.topk_group,
                              rt.n_group);
  }
  if (rt.n_group > 1 && rt.topk_group * (rt.num_experts / rt.n_group) < rt.top_k) {
    return Status::Corruption("{}: topk_group {} groups of {} experts cannot supply {} experts",
                              source, rt.topk_group, rt.num_experts / rt.n_group, rt.top_k);
  }
  if (c.num_moe_layers() == 0) {
    return Status::Corruption("{}: no layer is a MoE layer with these settings", source);
  }
  return Status::Ok();
}

}  // namespace

std::string_view FamilyName(Family f) {
  switch (f) {
    case Family::kQwen3Moe: return "qwen3_moe";
    case Family::kQwen2Moe: return "qwen2_moe";
    case Family::kMixtral: return "mixtral";
    case Family::kOlmoe: return "olmoe";
    case Family::kDeepseekV3: return "deepseek_v3";
    case Family::kLlama4: return "llama4";
    case Family::kGptOss: return "gpt_oss";
  }
  return "unknown";
}

std::string_view ScoringFuncName(ScoringFunc f) {
  switch (f) {
    case ScoringFunc::kSoftmax: return "softmax";
    case ScoringFunc::kSigmoid: return "sigmoid";
    case ScoringFunc::kSoftmaxTopk: return "topk_then_softmax";
    case ScoringFunc::kSigmoidTopk: return "topk_then_sigmoid";
  }
  return "unknown";
}

std::vector<int> ModelConfig::MoeLayers() const {
  std::vector<int> out;
  for (int i = 0; i < static_cast<int>(is_moe_layer.size()); ++i) {
    if (is_moe_layer[i]) out.push_back(i);
  }
  return out;
}

int ModelConfig::num_moe_layers() const {
  return static_cast<int>(std::count(is_moe_layer.begin(), is_moe_layer.end(), true));
}

Result<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& source) {
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJsonStrict(json_text, source));
  if (!root.is_object()) return Status::Corruption("{}: not a JSON object", source);
  ModelConfig c;
  c.raw = root;
  FieldReader top(root, source);
  ASSIGN_OR_RETURN(c.model_type, top.String("model_type", ""));
  if (c.model_type.empty()) return Status::Corruption("{}: missing field \"model_type\"", source);
  if (root.contains("architectures") && root["architectures"].is_array() &&
      !root["architectures"].empty() && root["architectures"][0].is_string()) {
    c.architecture = root["architectures"][0].get<std::string>();
  }
  ASSIGN_OR_RETURN(c.family, FamilyFromModelType(c.model_type, source));
  // Multimodal Llama-4 keeps the language model in "text_config" and its tensors under
  // "language_model.".
  const nlohmann::json* fields = &root;
  if (c.model_type == "llama4") {
    if (!root.contains("text_config") || !root["text_config"].is_object()) {
      return Status::Corruption("{}: model_type llama4 without a \"text_config\" object", source);
    }
    fields = &root["text_config"];
    c.weight_prefix = "language_model.";
  }
  FieldReader r(*fields, source);
  RETURN_IF_ERROR(ReadCommon(r, c));
  if (fields->contains("rope_scaling")) c.attention.rope_scaling = (*fields)["rope_scaling"];
  // transformers v5 folds rope_scaling into rope_parameters; a non-default rope_type there is
  // the same scaling description.
  if (c.attention.rope_scaling.is_null() && fields->contains("rope_parameters")) {
    const nlohmann::json& rope = (*fields)["rope_parameters"];
    if (rope.contains("rope_type") && rope["rope_type"] != "default") {
      c.attention.rope_scaling = rope;
    }
  }
  switch (c.family) {
    case Family::kQwen3Moe: RETURN_IF_ERROR(ReadQwenLike(r, c, /*qwen2=*/false)); break;
    case Family::kQwen2Moe: RETURN_IF_ERROR(ReadQwenLike(r, c, /*qwen2=*/true)); break;
    case Family::kMixtral: {
      ASSIGN_OR_RETURN(c.routing.num_experts, r.AgreedInt({"num_local_experts"}, 1, kMaxExperts));
      ASSIGN_OR_RETURN(c.moe_intermediate_size, r.Int("intermediate_size", 1, kMaxWidth));
      c.routing.norm_topk_prob = true;  // Mixtral always renormalises the top-k
      c.is_moe_layer.assign(c.num_layers, true);
      ASSIGN_OR_RETURN(c.attention.sliding_window, r.IntOr("sliding_window", 0, 0, 1 << 30));
      break;
    }
    case Family::kOlmoe: {
      ASSIGN_OR_RETURN(c.routing.num_experts, r.AgreedInt({"num_experts"}, 1, kMaxExperts));
      ASSIGN_OR_RETURN(c.moe_intermediate_size, r.Int("intermediate_size", 1, kMaxWidth));
      ASSIGN_OR_RETURN(c.routing.norm_topk_prob, r.Bool("norm_topk_prob", false));
      c.is_moe_layer.assign(c.num_layers, true);
      c.attention.qk_norm = AttentionConfig::QkNorm::kWhole;
      break;
    }
    case Family::kDeepseekV3: RETURN_IF_ERROR(ReadDeepseek(r, c)); break;
    case Family::kLlama4: RETURN_IF_ERROR(ReadLlama4(r, c)); break;
    case Family::kGptOss: RETURN_IF_ERROR(ReadGptOss(r, c)); break;
  }
  if (c.attention.rope_layers.empty()) c.attention.rope_layers.assign(c.num_layers, true);
  c.attention.softmax_scale =
      1.0 / std::sqrt(static_cast<double>(c.attention.kind == AttentionKind::kMla
                                              ? c.attention.qk_nope_head_dim +
                                                    c.attention.qk_rope_head_dim
                                              : c.attention.head_dim));
  RETURN_IF_ERROR(CheckConsistency(c, source));
  return c;
}

Result<ModelConfig> LoadModelConfig(const std::string& checkpoint_dir) {
  std::string path = (std::filesystem::path(checkpoint_dir) / "config.json").string();
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMaxConfigBytes));
  return ParseModelConfig(text, path);
}

}  // namespace moedist
