// OpenNodeModel: one node directory of a release (DIST/node-<g>, docs/formats/bundle.md) opened
// in runtime-min, with the expert mask the node must run under.
//
// Two ways in, chosen at compile time:
//   direct        Model::Open(node_dir, CheckpointOpenOptions{.release_root = DIST}), once
//                 runtime-min has that overload: the node's tensors stay views of the mapped
//                 bundle shards.
//   materialized  until then: the node is read with Checkpoint::Open(node_dir, {DIST}) and
//                 written out under `scratch_dir` as a plain checkpoint (config.json +
//                 model.safetensors, quantization metadata kept), which Model::Open reads. In
//                 mask mode the experts the node does not hold are written filled with 0xFF
//                 bytes — NaN in every float and block type (f32/f16/bf16/fp8 values, the f16
//                 scales of q8_0/q4_0/q2_k…q6_k) — so the model's loader finds every expert,
//                 and a forward pass that used one despite the mask yields NaN logits.
// Either way a node whose tensors are block-quantized loads only once runtime-min reads
// quantized weights; until then Model::Open refuses it and the error says so.
// Thread safety: plain values; the Model follows runtime-min's rules.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "pipeline/node_bundle.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/model.h"

namespace moedist {

struct NodeModel {
  std::unique_ptr<Model> model;
  NodeInfo info;           // moedist_node.json
  ExpertMask mask;         // in the node's numbering: the held ids (mask mode), else none
  bool quantized = false;  // some tensor is block-quantized (moedist.quant.* metadata)
  bool materialized = false;
  std::string scratch;  // the materialized copy, when there is one (the caller removes it)
};

// True when the node's tensors, as Checkpoint::Open(node_dir, {dist}) exposes them, include a
// block-quantized one.
Result<bool> NodeIsQuantized(const std::string& dist, const std::string& node);

// Opens DIST/<node>. `scratch_dir` (created if missing) receives the materialized copy when the
// direct way is not available.
Result<NodeModel> OpenNodeModel(const std::string& dist, const std::string& node,
                                const std::string& scratch_dir);

// Writes DIST/<node> as a self-contained checkpoint in `out` (see above).
Status MaterializeNodeCheckpoint(const std::string& dist, const std::string& node,
                                 const std::string& out);

}  // namespace moedist
