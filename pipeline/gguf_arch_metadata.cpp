#include "pipeline/gguf_arch_metadata.h"

#include <fmt/format.h>

#include <cmath>
#include <set>
#include <tuple>

namespace moedist {
namespace {

Status Refuse(GgufArch arch, const std::string& why) {
  return Status::Unsupported("cannot write this node as a {} GGUF: {}", GgufArchName(arch), why);
}

// llama.cpp's qwen3moe, mixtral (llama) graphs always renormalise the chosen weights; qwen2moe's
// and olmoe's never do. A config that says otherwise would route differently in llama.cpp.
std::optional<bool> HardCodedRenormalisation(GgufArch arch) {
  switch (arch) {
    case GgufArch::kQwen3Moe:
    case GgufArch::kLlama: return true;
    case GgufArch::kQwen2Moe:
    case GgufArch::kOlmoe: return false;
    case GgufArch::kDeepseek2:      // expert_weights_norm
    case GgufArch::kLlama4: break;  // sigmoid of the chosen logit, no renormalisation
  }
  return std::nullopt;
}

Status CheckLlama4HardCoded(const ModelConfig& cfg, int node_experts) {
  const nlohmann::json& raw = cfg.raw.contains("text_config") ? cfg.raw["text_config"] : cfg.raw;
  auto num = [&](const char* key) -> double {
    return raw.contains(key) && raw[key].is_number() ? raw[key].get<double>() : NAN;
  };
  // llm_build_llama_iswa: chunked attention of 8192 on three layers of four, NoPE on every
  // fourth, attention temperature tuning with floor 8192 and scale 0.1; L2 qk-norm unless the
  // model has 128 experts (Maverick).
  if (num("attention_chunk_size") != 8192) {
    return Refuse(GgufArch::kLlama4, "attention_chunk_size is not 8192, which llama.cpp assumes");
  }
  for (int i = 0; i < cfg.num_layers; ++i) {
    if (cfg.attention.rope_layers[i] != ((i + 1) % 4 != 0)) {
      return Refuse(GgufArch::kLlama4,
                    fmt::format("no_rope_layers differs from llama.cpp's NoPE on every fourth "
                                "layer at layer {}",
                                i));
    }
  }
  const bool tuning = raw.contains("attn_temperature_tuning") &&
                      !(raw["attn_temperature_tuning"].is_boolean() &&
                        !raw["attn_temperature_tuning"].get<bool>()) &&
                      !(raw["attn_temperature_tuning"].is_number() &&
                        raw["attn_temperature_tuning"].get<double>() == 0);
  if (!tuning || num("floor_scale") != 8192 || std::fabs(num("attn_scale") - 0.1) > 1e-12) {
    return Refuse(GgufArch::kLlama4,
                  "attention temperature tuning (attn_temperature_tuning, floor_scale 8192, "
                  "attn_scale 0.1) differs from what llama.cpp hard-codes");
  }
  const bool qk_norm = cfg.attention.qk_norm == AttentionConfig::QkNorm::kL2;
  if (qk_norm != (node_experts != 128)) {
    return Refuse(GgufArch::kLlama4,
                  fmt::format("llama.cpp applies the L2 qk-norm exactly when the model does not "
                              "have 128 experts; this node has {} and use_qk_norm is {}",
                              node_experts, qk_norm));
  }
  return Status::Ok();
}

// `group_keys`: the router's groups are the node's own, whole (a sliced node of whole router
// groups): llama.cpp's deepseek2 graph runs grouped top-k from expert_group_count /
// expert_group_used_count (the sum of each group's two best scores, as DeepSeek-V3 does).
Status CheckRouting(GgufArch arch, const ModelConfig& cfg, bool group_keys = false) {
  const RoutingConfig& r = cfg.routing;
  if (std::optional<bool> renorm = HardCodedRenormalisation(arch);
      renorm && *renorm != r.norm_topk_prob) {
    return Refuse(arch, fmt::format("llama.cpp's {} graph {} the top-k weights, but the model's "
                                    "norm_topk_prob is {}",
                                    GgufArchName(arch),
                                    *renorm ? "always renormalises" : "never renormalises",
                                    r.norm_topk_prob));
  }
  if (r.n_group > 1 && r.topk_group < r.n_group && !(group_keys && arch == GgufArch::kDeepseek2)) {
    return Refuse(
        arch, fmt::format("grouped top-k (n_group {}, topk_group {}) ranks fixed blocks of all {} "
                          "experts; a node holding some of them cannot be routed the same way by "
                          "a router over its own experts",
                          r.n_group, r.topk_group, r.num_experts));
  }
  if (arch == GgufArch::kDeepseek2 && r.scoring != ScoringFunc::kSoftmax &&
      r.scoring != ScoringFunc::kSigmoid) {
    return Refuse(arch, "DeepSeek routing other than softmax or sigmoid");
  }
  return Status::Ok();
}

Status CheckAttention(GgufArch arch, const ModelConfig& cfg) {
  const AttentionConfig& a = cfg.attention;
  if (cfg.hidden_act != "silu") return Refuse(arch, fmt::format("hidden_act {}", cfg.hidden_act));
  if (a.sliding_window != 0) {
    return Refuse(arch, fmt::format("sliding_window {} (the architecture has no sliding window)",
                                    a.sliding_window));
  }
  if (!a.rope_scaling.is_null()) {
    const bool yarn = arch == GgufArch::kDeepseek2 && a.rope_scaling.is_object() &&
                      a.rope_scaling.value("type", a.rope_scaling.value("rope_type", "")) == "yarn";
    if (!yarn) {
      return Refuse(arch, fmt::format("rope_scaling {} is not written (only DeepSeek yarn is)",
                                      a.rope_scaling.dump()));
    }
  }
  if (arch == GgufArch::kDeepseek2 && !a.rope_interleave) {
    return Refuse(arch, "rope_interleave false: llama.cpp rotates adjacent pairs in deepseek2");
  }
  if (a.o_bias) return Refuse(arch, "o_proj has a bias, which llama.cpp does not load");
  // llama.cpp's olmoe loader sizes both qk-norm weights [n_embd], i.e. it assumes as many
  // key/value heads as query heads; OLMoE's k_norm covers num_key_value_heads × head_dim.
  if (arch == GgufArch::kOlmoe && a.num_kv_heads != a.num_heads) {
    return Refuse(arch, fmt::format("{} key/value heads for {} query heads: llama.cpp's olmoe "
                                    "loads k_norm as [n_embd], which only fits when they are equal",
                                    a.num_kv_heads, a.num_heads));
  }
  return Status::Ok();
}

void Add(std::vector<GgufKv>& kvs, std::string key, GgufValue v) {
  kvs.push_back({std::move(key), std::move(v)});
}

uint32_t U32(int v) {
  return static_cast<uint32_t>(v);
}

}  // namespace

Status CheckGgufExpressible(GgufArch arch, const ModelConfig& cfg, const NodeInfo& info) {
  std::set<size_t> sizes;
  for (const auto& [layer, nl] : info.layers) sizes.insert(nl.held.size() + nl.proxies.size());
  if (sizes.size() > 1) {
    return Refuse(arch, fmt::format("the node holds {} to {} experts depending on the layer; "
                                    "llama.cpp has one expert_count for every layer",
                                    *sizes.begin(), *sizes.rbegin()));
  }
  if (cfg.routing.n_group > 1 && info.mode == NodeMode::kSlice) {
    // Whole router groups (ChooseNodeMode slices only then): with no more than topk_group of
    // them every held group is always kept and plain top-k is exact; with more, the node's
    // router is grouped top-k over its own groups, written as group keys (ArchMetadata).
    const int whole = WholeRouterGroupsHeld(cfg, info.layers);
    if (whole == 0) return Refuse(arch, "the node holds parts of router groups");
    ModelConfig node_cfg = cfg;
    std::tie(node_cfg.routing.n_group, node_cfg.routing.topk_group) = NodeRouterGroups(cfg, whole);
    RETURN_IF_ERROR(CheckRouting(arch, node_cfg, /*group_keys=*/true));
  } else {
    RETURN_IF_ERROR(CheckRouting(arch, cfg));
  }
  RETURN_IF_ERROR(CheckAttention(arch, cfg));
  if (arch == GgufArch::kLlama4) {
    RETURN_IF_ERROR(
        CheckLlama4HardCoded(cfg, sizes.empty() ? 0 : static_cast<int>(*sizes.begin())));
  }
  if (arch != GgufArch::kLlama4 && arch != GgufArch::kDeepseek2) {
    for (bool moe : cfg.is_moe_layer) {
      if (!moe) return Refuse(arch, "a dense layer in a model llama.cpp runs as all-MoE");
    }
  }
  if (arch == GgufArch::kDeepseek2) {
    bool seen_moe = false;
    for (bool moe : cfg.is_moe_layer) {
      if (seen_moe && !moe) return Refuse(arch, "dense layers after the first MoE layer");
      seen_moe = seen_moe || moe;
    }
  }
  return Status::Ok();
}

Result<std::vector<GgufKv>> ArchMetadata(GgufArch arch, const ModelConfig& cfg, int node_experts,
                                         const std::string& name) {
  const std::string a(GgufArchName(arch));
  const AttentionConfig& at = cfg.attention;
  const RoutingConfig& r = cfg.routing;
  std::vector<GgufKv> kvs;
  Add(kvs, "general.architecture", GgufValue::String(a));
  Add(kvs, "general.name", GgufValue::String(name));
  const nlohmann::json& raw = cfg.raw.contains("text_config") ? cfg.raw["text_config"] : cfg.raw;
  const int context = raw.value("max_position_embeddings", 4096);
  Add(kvs, a + ".vocab_size", GgufValue::U32(U32(cfg.vocab_size)));
  Add(kvs, a + ".context_length", GgufValue::U32(U32(context)));
  Add(kvs, a + ".embedding_length", GgufValue::U32(U32(cfg.hidden_size)));
  Add(kvs, a + ".block_count", GgufValue::U32(U32(cfg.num_layers)));
  // Mixtral and OLMoE size their experts with feed_forward_length; the others have a dense
  // width there and the expert width in expert_feed_forward_length.
  const bool ff_is_expert = arch == GgufArch::kLlama || arch == GgufArch::kOlmoe;
  Add(kvs, a + ".feed_forward_length",
      GgufValue::U32(U32(ff_is_expert ? cfg.moe_intermediate_size : cfg.intermediate_size)));
  if (!ff_is_expert) {
    Add(kvs, a + ".expert_feed_forward_length", GgufValue::U32(U32(cfg.moe_intermediate_size)));
  }
  if (arch == GgufArch::kQwen2Moe) {
    Add(kvs, a + ".expert_shared_feed_forward_length",
        GgufValue::U32(U32(cfg.shared_intermediate_size)));
  }
  Add(kvs, a + ".attention.head_count", GgufValue::U32(U32(at.num_heads)));
  Add(kvs, a + ".attention.head_count_kv", GgufValue::U32(U32(at.num_kv_heads)));
  Add(kvs, a + ".attention.layer_norm_rms_epsilon",
      GgufValue::F32(static_cast<float>(cfg.rms_norm_eps)));
  Add(kvs, a + ".rope.freq_base", GgufValue::F32(static_cast<float>(at.rope_theta)));
  if (arch == GgufArch::kDeepseek2) {
    // Legacy (unsplit attn_kv_b) MLA layout: key/value lengths are the per-head q/k and v sizes.
    Add(kvs, a + ".attention.key_length",
        GgufValue::U32(U32(at.qk_nope_head_dim + at.qk_rope_head_dim)));
    Add(kvs, a + ".attention.value_length", GgufValue::U32(U32(at.v_head_dim)));
    Add(kvs, a + ".rope.dimension_count", GgufValue::U32(U32(at.qk_rope_head_dim)));
    Add(kvs, a + ".attention.q_lora_rank", GgufValue::U32(U32(at.q_lora_rank)));
    Add(kvs, a + ".attention.kv_lora_rank", GgufValue::U32(U32(at.kv_lora_rank)));
    int dense = 0;
    while (dense < cfg.num_layers && !cfg.is_moe_layer[dense]) ++dense;
    Add(kvs, a + ".leading_dense_block_count", GgufValue::U32(U32(dense)));
    Add(kvs, a + ".expert_shared_count", GgufValue::U32(U32(r.num_shared_experts)));
    Add(kvs, a + ".expert_weights_scale",
        GgufValue::F32(static_cast<float>(r.routed_scaling_factor)));
    Add(kvs, a + ".expert_weights_norm", GgufValue::Bool(r.norm_topk_prob));
    // llama_expert_gating_func_type: 1 softmax, 2 sigmoid.
    Add(kvs, a + ".expert_gating_func",
        GgufValue::U32(r.scoring == ScoringFunc::kSigmoid ? 2u : 1u));
    if (r.n_group > 1) {  // a node of more whole router groups than topk_group (CheckRouting)
      Add(kvs, a + ".expert_group_count", GgufValue::U32(U32(r.n_group)));
      Add(kvs, a + ".expert_group_used_count", GgufValue::U32(U32(r.topk_group)));
    }
    if (!at.rope_scaling.is_null()) {
      const nlohmann::json& rs = at.rope_scaling;
      Add(kvs, a + ".rope.scaling.type", GgufValue::String("yarn"));
      Add(kvs, a + ".rope.scaling.factor", GgufValue::F32(rs.value("factor", 1.0f)));
      Add(kvs, a + ".rope.scaling.original_context_length",
          GgufValue::U32(rs.value("original_max_position_embeddings", 4096u)));
      Add(kvs, a + ".rope.scaling.yarn_log_multiplier",
          GgufValue::F32(0.1f * rs.value("mscale_all_dim", 0.0f)));
    }
  } else {
    Add(kvs, a + ".attention.key_length", GgufValue::U32(U32(at.head_dim)));
    Add(kvs, a + ".attention.value_length", GgufValue::U32(U32(at.head_dim)));
    Add(kvs, a + ".rope.dimension_count", GgufValue::U32(U32(at.head_dim)));
  }
  if (arch == GgufArch::kLlama4) {
    Add(kvs, a + ".interleave_moe_layer_step",
        GgufValue::U32(U32(raw.value("interleave_moe_layer_step", 1))));
  }
  Add(kvs, a + ".expert_count", GgufValue::U32(U32(node_experts)));
  Add(kvs, a + ".expert_used_count", GgufValue::U32(U32(r.top_k)));
  return kvs;
}

}  // namespace moedist
