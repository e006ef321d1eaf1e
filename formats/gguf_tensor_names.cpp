#include "formats/gguf_tensor_names.h"

#include <fmt/format.h>

#include <array>
#include <charconv>

namespace moedist {
namespace {

constexpr std::string_view kLayerPrefix = "model.layers.";

// Which architectures use a row when mapping back from GGUF (several HF spellings share one
// GGUF name). Mapping forward accepts every row: a node's names come from its own family.
enum ArchBit : unsigned {
  kQwen3 = 1u << 0,
  kQwen2 = 1u << 1,
  kLlama = 1u << 2,
  kOlmoe = 1u << 3,
  kDeepseek = 1u << 4,
  kLlama4 = 1u << 5,
  kAll = 0x3f,
};

unsigned ArchBitOf(GgufArch arch) {
  return 1u << static_cast<unsigned>(arch);
}

struct NameRow {
  std::string_view hf;    // after "model.layers.<L>." (layer rows) or the whole name (global)
  std::string_view gguf;  // after "blk.<L>." or the whole name
  unsigned archs;
};

// Per-layer tensors: llama-arch.cpp LLM_TENSOR_NAMES, HF spellings from each family's modeling.
constexpr std::array kLayerRows = {
    NameRow{"input_layernorm.weight", "attn_norm.weight", kAll},
    NameRow{"post_attention_layernorm.weight", "ffn_norm.weight", kAll},
    NameRow{"self_attn.q_proj.weight", "attn_q.weight", kAll},
    NameRow{"self_attn.q_proj.bias", "attn_q.bias", kAll},
    NameRow{"self_attn.k_proj.weight", "attn_k.weight", kAll},
    NameRow{"self_attn.k_proj.bias", "attn_k.bias", kAll},
    NameRow{"self_attn.v_proj.weight", "attn_v.weight", kAll},
    NameRow{"self_attn.v_proj.bias", "attn_v.bias", kAll},
    NameRow{"self_attn.o_proj.weight", "attn_output.weight", kAll},
    NameRow{"self_attn.o_proj.bias", "attn_output.bias", kAll},
    NameRow{"self_attn.q_norm.weight", "attn_q_norm.weight", kAll},
    NameRow{"self_attn.k_norm.weight", "attn_k_norm.weight", kAll},
    // MLA (DeepSeek-V2/V3, Kimi-K2); kv_b stays unsplit (the legacy layout llama.cpp loads when
    // the *_mla key lengths are absent).
    NameRow{"self_attn.q_a_proj.weight", "attn_q_a.weight", kAll},
    NameRow{"self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight", kAll},
    NameRow{"self_attn.q_b_proj.weight", "attn_q_b.weight", kAll},
    NameRow{"self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight", kAll},
    NameRow{"self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight", kAll},
    NameRow{"self_attn.kv_b_proj.weight", "attn_kv_b.weight", kAll},
    // Routers.
    NameRow{"mlp.gate.weight", "ffn_gate_inp.weight", kQwen3 | kQwen2 | kOlmoe | kDeepseek},
    NameRow{"block_sparse_moe.gate.weight", "ffn_gate_inp.weight", kLlama},
    NameRow{"feed_forward.router.weight", "ffn_gate_inp.weight", kLlama4},
    NameRow{"mlp.gate.e_score_correction_bias", "exp_probs_b.bias", kDeepseek},
    // Shared experts.
    NameRow{"mlp.shared_expert.gate_proj.weight", "ffn_gate_shexp.weight", kQwen2},
    NameRow{"mlp.shared_expert.up_proj.weight", "ffn_up_shexp.weight", kQwen2},
    NameRow{"mlp.shared_expert.down_proj.weight", "ffn_down_shexp.weight", kQwen2},
    NameRow{"mlp.shared_expert_gate.weight", "ffn_gate_inp_shexp.weight", kQwen2},
    NameRow{"mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight", kDeepseek},
    NameRow{"mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight", kDeepseek},
    NameRow{"mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight", kDeepseek},
    NameRow{"feed_forward.shared_expert.gate_proj.weight", "ffn_gate_shexp.weight", kLlama4},
    NameRow{"feed_forward.shared_expert.up_proj.weight", "ffn_up_shexp.weight", kLlama4},
    NameRow{"feed_forward.shared_expert.down_proj.weight", "ffn_down_shexp.weight", kLlama4},
    // Dense MLP layers (DeepSeek leading layers, Llama-4 interleaved layers).
    NameRow{"mlp.gate_proj.weight", "ffn_gate.weight", kDeepseek | kQwen2 | kQwen3},
    NameRow{"mlp.up_proj.weight", "ffn_up.weight", kDeepseek | kQwen2 | kQwen3},
    NameRow{"mlp.down_proj.weight", "ffn_down.weight", kDeepseek | kQwen2 | kQwen3},
    NameRow{"feed_forward.gate_proj.weight", "ffn_gate.weight", kLlama4},
    NameRow{"feed_forward.up_proj.weight", "ffn_up.weight", kLlama4},
    NameRow{"feed_forward.down_proj.weight", "ffn_down.weight", kLlama4},
};

constexpr std::array kGlobalRows = {
    NameRow{"model.embed_tokens.weight", "token_embd.weight", kAll},
    NameRow{"model.norm.weight", "output_norm.weight", kAll},
    NameRow{"lm_head.weight", "output.weight", kAll},
};

std::string_view ProjGgufStem(ExpertProj p) {
  switch (p) {
    case ExpertProj::kGate: return "ffn_gate_exps";
    case ExpertProj::kUp: return "ffn_up_exps";
    case ExpertProj::kDown: return "ffn_down_exps";
    case ExpertProj::kGateUp: break;
  }
  return "";
}

// Parses a decimal id at the start of `s` followed by '.', advancing past the dot.
std::optional<int> TakeId(std::string_view& s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data() || end == s.data() + s.size() || *end != '.' || v < 0) {
    return std::nullopt;
  }
  s.remove_prefix(static_cast<size_t>(end - s.data()) + 1);
  return v;
}

// Per-expert spellings: "mlp.experts.<E>.<proj>.weight" and Mixtral's w1/w3/w2.
std::optional<GgufTensorName> MapExpert(std::string_view rest, int layer) {
  struct Spelling {
    std::string_view prefix;
    std::string_view gate, up, down;
  };
  static constexpr std::array kSpellings = {
      Spelling{"mlp.experts.", "gate_proj.weight", "up_proj.weight", "down_proj.weight"},
      Spelling{"block_sparse_moe.experts.", "w1.weight", "w3.weight", "w2.weight"},
  };
  for (const Spelling& sp : kSpellings) {
    if (!rest.starts_with(sp.prefix)) continue;
    std::string_view tail = rest.substr(sp.prefix.size());
    std::optional<int> expert = TakeId(tail);
    if (!expert) return std::nullopt;
    GgufTensorName out{GgufTensorName::Kind::kExpert, "", layer, *expert};
    if (tail == sp.gate) {
      out.proj = ExpertProj::kGate;
    } else if (tail == sp.up) {
      out.proj = ExpertProj::kUp;
    } else if (tail == sp.down) {
      out.proj = ExpertProj::kDown;
    } else {
      return std::nullopt;
    }
    out.gguf = MergedExpertName(layer, out.proj);
    return out;
  }
  if (rest == "feed_forward.experts.gate_up_proj") {
    return GgufTensorName{GgufTensorName::Kind::kPackedExperts, "", layer, -1, ExpertProj::kGateUp};
  }
  if (rest == "feed_forward.experts.down_proj") {
    return GgufTensorName{GgufTensorName::Kind::kPackedExperts,
                          MergedExpertName(layer, ExpertProj::kDown), layer, -1, ExpertProj::kDown};
  }
  return std::nullopt;
}

}  // namespace

std::string_view GgufArchName(GgufArch arch) {
  switch (arch) {
    case GgufArch::kQwen3Moe: return "qwen3moe";
    case GgufArch::kQwen2Moe: return "qwen2moe";
    case GgufArch::kLlama: return "llama";
    case GgufArch::kOlmoe: return "olmoe";
    case GgufArch::kDeepseek2: return "deepseek2";
    case GgufArch::kLlama4: return "llama4";
  }
  return "";
}

std::optional<GgufArch> GgufArchFromName(std::string_view name) {
  for (GgufArch a : {GgufArch::kQwen3Moe, GgufArch::kQwen2Moe, GgufArch::kLlama, GgufArch::kOlmoe,
                     GgufArch::kDeepseek2, GgufArch::kLlama4}) {
    if (GgufArchName(a) == name) return a;
  }
  return std::nullopt;
}

Result<GgufArch> GgufArchForFamily(Family family) {
  switch (family) {
    case Family::kQwen3Moe: return GgufArch::kQwen3Moe;
    case Family::kQwen2Moe: return GgufArch::kQwen2Moe;
    case Family::kMixtral: return GgufArch::kLlama;
    case Family::kOlmoe: return GgufArch::kOlmoe;
    case Family::kDeepseekV3: return GgufArch::kDeepseek2;
    case Family::kLlama4: return GgufArch::kLlama4;
    case Family::kGptOss: break;
  }
  return Status::Unsupported(
      "family {} is not written as GGUF: its experts are MXFP4 blocks interleaved gate/up with "
      "biases, which moedist does not re-layout into llama.cpp's gpt-oss tensors",
      FamilyName(family));
}

std::string MergedExpertName(int layer, ExpertProj proj) {
  return fmt::format("blk.{}.{}.weight", layer, ProjGgufStem(proj));
}

Result<GgufTensorName> MapHfTensorName(std::string_view hf_name, std::string_view weight_prefix) {
  std::string_view name = hf_name;
  if (!weight_prefix.empty() && name.starts_with(weight_prefix))
    name.remove_prefix(weight_prefix.size());
  for (const NameRow& r : kGlobalRows) {
    if (name == r.hf) return GgufTensorName{GgufTensorName::Kind::kPlain, std::string(r.gguf)};
  }
  if (name.starts_with(kLayerPrefix)) {
    std::string_view rest = name.substr(kLayerPrefix.size());
    if (std::optional<int> layer = TakeId(rest)) {
      for (const NameRow& r : kLayerRows) {
        if (rest == r.hf) {
          return GgufTensorName{GgufTensorName::Kind::kPlain,
                                fmt::format("blk.{}.{}", *layer, r.gguf), *layer};
        }
      }
      if (std::optional<GgufTensorName> e = MapExpert(rest, *layer)) return *e;
    }
  }
  return Status::NotFound("tensor \"{}\" has no llama.cpp GGUF name", hf_name);
}

Result<std::string> HfNameForGguf(GgufArch arch, std::string_view gguf_name,
                                  std::string_view weight_prefix) {
  const unsigned bit = ArchBitOf(arch);
  for (const NameRow& r : kGlobalRows) {
    if (gguf_name == r.gguf) return fmt::format("{}{}", weight_prefix, r.hf);
  }
  if (gguf_name.starts_with("blk.")) {
    std::string_view rest = gguf_name.substr(4);
    if (std::optional<int> layer = TakeId(rest)) {
      for (const NameRow& r : kLayerRows) {
        if (rest == r.gguf && (r.archs & bit) != 0) {
          return fmt::format("{}{}{}.{}", weight_prefix, kLayerPrefix, *layer, r.hf);
        }
      }
    }
  }
  return Status::NotFound("GGUF tensor \"{}\" has no Hugging Face name in architecture {}",
                          gguf_name, GgufArchName(arch));
}

std::string HfExpertName(GgufArch arch, int layer, int expert, ExpertProj proj,
                         std::string_view weight_prefix) {
  if (arch == GgufArch::kLlama) {
    const std::string_view w = proj == ExpertProj::kGate ? "w1"
                               : proj == ExpertProj::kUp ? "w3"
                                                         : "w2";
    return fmt::format("{}{}{}.block_sparse_moe.experts.{}.{}.weight", weight_prefix, kLayerPrefix,
                       layer, expert, w);
  }
  const std::string_view p = proj == ExpertProj::kGate ? "gate_proj"
                             : proj == ExpertProj::kUp ? "up_proj"
                                                       : "down_proj";
  return fmt::format("{}{}{}.mlp.experts.{}.{}.weight", weight_prefix, kLayerPrefix, layer, expert,
                     p);
}

}  // namespace moedist
