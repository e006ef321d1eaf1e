// The general.* and <arch>.* metadata of a node GGUF, and the check that llama.cpp can run the
// node exactly as runtime-min does (docs/formats/gguf.md, "Families").
//
// llama.cpp reads each architecture's hyperparameters from a fixed set of keys and hard-codes
// the rest per architecture (the top-k weight renormalisation of qwen3moe/qwen2moe/olmoe/
// mixtral, Llama-4's chunked attention and NoPE pattern, ...). CheckGgufExpressible refuses a
// node whose config or routing llama.cpp would compute differently, naming the field; the keys
// written are exactly the ones the architecture's loader reads, plus vocab_size.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "formats/gguf_tensor_names.h"
#include "formats/gguf_value.h"
#include "formats/model_config.h"
#include "pipeline/node_bundle.h"

namespace moedist {

// OK when a GGUF of this node computes what runtime-min computes on the node: the router can be
// sliced to the node's experts without changing routing (see the .cpp for each rule), one
// expert count holds for every layer, and every hard-coded llama.cpp behaviour matches `cfg`
// (the node's config). Otherwise Unsupported with the reason.
Status CheckGgufExpressible(GgufArch arch, const ModelConfig& cfg, const NodeInfo& info);

// The metadata before the tokenizer keys: general.architecture (first, as llama.cpp expects),
// general.name, then the architecture's keys with `node_experts` as expert_count.
Result<std::vector<GgufKv>> ArchMetadata(GgufArch arch, const ModelConfig& cfg, int node_experts,
                                         const std::string& name);

}  // namespace moedist
