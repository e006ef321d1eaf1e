// A node bundle as one GGUF file that stock llama.cpp loads (docs/formats/gguf.md, "Node
// files").
//
// Input is the node as a runtime sees it: Checkpoint::Open(node_dir, {release_root}) (trunk +
// the node's group + overlay, experts in the node's numbering) and its moedist_node.json. The
// plan renames every tensor to llama.cpp's name (gguf_tensor_names.h), merges each layer's
// experts into 3-D tensors [n_expert, out, in] (ggml ne [in, out, n_expert]) in local-id order,
// and writes the architecture keys (gguf_arch_metadata.h), the tokenizer (gguf_tokenizer_keys.h)
// and moedist.* keys that let runtime-min rebuild the exact model (llama.cpp ignores them).
// Data transforms, each exact:
//   - 1-D BF16/F16 tensors (norms, biases, correction bias) are widened to F32, as
//     convert_hf_to_gguf.py stores them (ggml's elementwise ops want F32 there); the original
//     type is listed in moedist.widened so a reader can narrow them back bit for bit;
//   - llama (Mixtral): q_proj / k_proj rows are permuted per head from HF's rotate-half order to
//     the adjacent-pair order of llama.cpp's NORM rope (convert_hf_to_gguf's LlamaModel.permute);
//     rows move whole, so block-quantized rows move unchanged;
//   - mask-mode nodes (softmax without renormalisation): the full router is sliced to the held
//     experts here (see gguf_arch_metadata.cpp for why that is exact);
//   - Llama-4 packed experts ([E, H, 2I] used as x·W) are split and transposed to llama.cpp's
//     [E, I, H] (plain F32/F16/BF16 only: a block-quantized row cannot be transposed exactly).
// Tensors stream from the node's mappings; the node checkpoint must outlive the write.
// Thread safety: a plan is used by one writer.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "formats/gguf_tensor_names.h"
#include "formats/gguf_writer.h"
#include "formats/hf_checkpoint.h"
#include "pipeline/bundle_writer.h"
#include "pipeline/gguf_tokenizer_keys.h"
#include "pipeline/node_bundle.h"

namespace moedist {

inline constexpr std::string_view kGgufHfConfigKey = "moedist.hf_config";
inline constexpr std::string_view kGgufNodeInfoKey = "moedist.node";
inline constexpr std::string_view kGgufWidenedKey = "moedist.widened";
inline constexpr std::string_view kGgufFormatVersionKey = "moedist.format_version";
inline constexpr uint32_t kGgufNodeFormatVersion = 1;

struct GgufNodeRequest {
  const Checkpoint* node = nullptr;  // opened with the release root
  const NodeInfo* info = nullptr;
  std::string config_text;  // the source model's config.json (original counts)
  TokenizerSources tokenizer;
  std::string name;  // general.name
};

struct GgufNodePlan {
  GgufArch arch = GgufArch::kQwen3Moe;
  std::vector<GgufKv> metadata;
  std::vector<GgufTensorSource> tensors;  // in file order
  std::vector<std::string> warnings;
};

// "node-0" -> "node-0.gguf".
std::string NodeGgufFileName(const std::string& node);

// Checks the node can be expressed (CheckGgufExpressible) and plans every key and tensor.
Result<GgufNodePlan> PlanNodeGguf(const GgufNodeRequest& request);

// Writes dist/<relative> atomically, hashing it on the way, then re-reads it with the strict
// GGUF reader and checks every key, tensor name, type and shape against the plan.
Result<WrittenFile> WriteNodeGguf(const std::string& dist, const std::string& relative,
                                  const GgufNodePlan& plan);

}  // namespace moedist
