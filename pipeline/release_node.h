// A node of a release, opened for `moedist run DIST --node K` and `moedist eval DIST --node K`:
// verified first (release_trust.h: its bundles, or nothing with --no-verify), then loaded in
// runtime-min with the expert mask it must run under, exactly as `validate` loads it
// (pipeline/node_model.h), so eval on the node gives validate's figure for that node.
//
// A node is DIST/node-<k>/: safetensors (config.json + an index into ../trunk, ../group-<k>,
// ../overlay, followed only inside DIST) or, from `pack --format gguf|both`, node-<k>.gguf (its
// router already sliced: no mask). `gguf` picks the GGUF when the node has both.
// Thread safety: plain values; the Model follows runtime-min's rules.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "pipeline/release_trust.h"
#include "runtime-min/eval_job.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/generate_job.h"
#include "runtime-min/model.h"

namespace moedist {

struct ReleaseNodeOptions {
  std::string dist_dir;
  std::string node;  // "node-1"
  ReleaseTrustOptions trust;
  bool gguf = false;  // load DIST/<node>/<node>.gguf even when safetensors are there too
};

struct ReleaseNode {
  std::unique_ptr<Model> model;
  ExpertMask mask;
  bool masked = false;  // mask mode: `mask` must be applied
  ReleaseTrust trust = ReleaseTrust::kNotChecked;
  std::string format;  // "safetensors" or "gguf"
  std::string path;    // the node directory or GGUF file opened

  const ExpertMask* mask_or_null() const { return masked ? &mask : nullptr; }
};

// When `path` is a node directory of a release (DIST/node-<k> with moedist_node.json or
// node-<k>.gguf, DIST holding distribution.json) sets dist/node and returns true; a release
// directory itself (distribution.json) without a node fails, saying to pass --node.
Result<bool> ResolveReleaseNodePath(const std::string& path, std::string& dist, std::string& node);

Result<ReleaseNode> OpenReleaseNode(const ReleaseNodeOptions& options);

// `moedist eval DIST --node K` and `moedist run DIST --node K`: the node opened as above, then
// the eval or generation job on it (options.model_dir is not read).
struct NodeEvalReport {
  EvalJobReport eval;
  ReleaseTrust trust = ReleaseTrust::kNotChecked;
  std::string format;
};
Result<NodeEvalReport> RunNodeEvalJob(const ReleaseNodeOptions& node, const EvalJobOptions& job);

struct NodeGenerateReport {
  GenerateJobReport generation;
  ReleaseTrust trust = ReleaseTrust::kNotChecked;
  std::string format;
};
Result<NodeGenerateReport> RunNodeGenerateJob(const ReleaseNodeOptions& node,
                                              const GenerateJobOptions& job);

}  // namespace moedist
