// llama.cpp's names for the tensors of a node bundle, and the way back (docs/formats/gguf.md).
//
// One table maps a Hugging Face tensor name (as a node checkpoint exposes it: experts already in
// the node's local numbering) to llama.cpp's GGUF name ("model.layers.3.self_attn.q_proj.weight"
// -> "blk.3.attn_q.weight"). Routed experts are not named one by one in GGUF: llama.cpp holds
// one 3-D tensor per layer and projection ("blk.3.ffn_gate_exps.weight", ggml ne
// [in, out, n_expert]), so an expert tensor maps to its merged tensor and its slot. The same
// table read backwards gives runtime-min the Hugging Face name of each GGUF tensor.
// Names and architecture strings are llama.cpp's (src/llama-arch.cpp, gguf-py constants.py).
// Thread safety: immutable tables and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "formats/model_config.h"

namespace moedist {

// The llama.cpp architectures node bundles are written as.
enum class GgufArch { kQwen3Moe, kQwen2Moe, kLlama, kOlmoe, kDeepseek2, kLlama4 };
// "qwen3moe", "qwen2moe", "llama", "olmoe", "deepseek2", "llama4"
std::string_view GgufArchName(GgufArch arch);
std::optional<GgufArch> GgufArchFromName(std::string_view name);
// The architecture of a family; Unsupported (naming the family and why) for GPT-OSS.
Result<GgufArch> GgufArchForFamily(Family family);

enum class ExpertProj { kGate, kUp, kDown, kGateUp };

struct GgufTensorName {
  enum class Kind {
    kPlain,          // one HF tensor is one GGUF tensor
    kExpert,         // one expert's projection: a slot of a merged 3-D tensor
    kPackedExperts,  // a packed [E, ...] HF tensor (Llama-4): gate_up or down of every expert
  };
  Kind kind = Kind::kPlain;
  std::string gguf;  // kPlain: the GGUF name; otherwise the merged tensor's (kGateUp: empty)
  int layer = -1;    // -1 for global tensors
  int expert = -1;   // kExpert: the slot (the node's local expert id)
  ExpertProj proj = ExpertProj::kGate;
};

// The GGUF name of `hf_name` (without `weight_prefix`, "" or "language_model."). NotFound
// naming the tensor when llama.cpp has no name for it.
Result<GgufTensorName> MapHfTensorName(std::string_view hf_name, std::string_view weight_prefix);

// "blk.<layer>.ffn_{gate,up,down}_exps.weight" (kGateUp is not a GGUF tensor).
std::string MergedExpertName(int layer, ExpertProj proj);

// The Hugging Face name of a plain GGUF tensor ("blk.3.attn_q.weight" ->
// "model.layers.3.self_attn.q_proj.weight"), for `arch` (the table has several HF spellings of
// some names: the router and shared experts differ by family). NotFound when there is none.
Result<std::string> HfNameForGguf(GgufArch arch, std::string_view gguf_name,
                                  std::string_view weight_prefix);

// The Hugging Face name of expert `expert`'s projection in `layer` for a per-expert family
// ("model.layers.3.mlp.experts.5.up_proj.weight"; Mixtral "...block_sparse_moe.experts.5.w3...").
std::string HfExpertName(GgufArch arch, int layer, int expert, ExpertProj proj,
                         std::string_view weight_prefix);

}  // namespace moedist
