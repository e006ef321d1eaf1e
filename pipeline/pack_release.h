// PackRelease: `moedist pack` — a checkpoint, a plan and a recipe become the bundle directories
// of a release plus its distribution.json (docs/commands/pack.md, docs/formats/bundle.md).
//
// Order of work, each step finishing before the next starts:
//   1. open and classify the checkpoint, check the plan against it, plan every file
//      (pack_layout.h); nothing is written if any tensor, class or type is a problem;
//   2. lock DIST (a second pack fails fast), remove a killed run's temporaries, refuse content
//      pack does not write, record the source files' sizes and SHA-256;
//   3. write every shard of every bundle on `threads` threads (largest first), each published
//      atomically and hashed as it is written, then re-read by the strict reader;
//   4. write indexes, node config.json / moedist_node.json / expert_mask.json and tokenizer
//      copies; re-open every node with Checkpoint::Open(node, {release_root}) and check it
//      exposes exactly the planned tensors;
//   5. delete files of an earlier release this one no longer has; check the source checkpoint
//      did not change while it was read (reliability row 35);
//   6. publish distribution.json last (manifest/build_distribution.h) and check its digests
//      equal the ones computed while writing (row 16).
// A failure or a kill at any point leaves no partial file under a final name and no new
// distribution.json (rows 30-31); running pack again completes. Output bytes depend only on the
// inputs (and the release fields), never on thread count or timing.
// Thread safety: one PackRelease per release directory (enforced by the lock).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "pipeline/expert_plan.h"
#include "pipeline/pack_gguf_nodes.h"
#include "pipeline/pack_layout.h"
#include "pipeline/pack_recipe.h"

namespace moedist {

enum class SourceRecheck { kNone, kStamp, kDigest };
// "none", "stamp", "digest".
std::optional<SourceRecheck> ParseSourceRecheck(std::string_view name);

struct PackRequest {
  std::string checkpoint_dir;
  ExpertPlan plan;
  std::string plan_source;  // plan file path, for messages and the manifest ("" if built)
  PackRecipe recipe;
  std::string recipe_source;  // recipe file path ("" if built)
  // An importance matrix (llama.cpp imatrix GGUF, `profile --imatrix`): block-quantized tensors
  // it describes are quantized with its weights (pack_imatrix.h); "" = none. Its SHA-256 goes
  // into distribution.json's recipe section.
  std::string imatrix_path;
  std::string out_dir;  // DIST
  int threads = 1;      // shards written at once
  uint64_t shard_bytes = uint64_t{4} << 30;
  // groups: group-<k>/ + overlay/; experts: one bundle per routed expert and layer
  // (pack_layout.h, docs/formats/bundle.md "Expert layout").
  PackLayoutKind layout = PackLayoutKind::kGroups;
  // safetensors: sharded bundles; both: plus node-<k>/node-<k>.gguf; gguf: only the node GGUFs
  // (pack_gguf_nodes.h).
  NodeFileFormat format = NodeFileFormat::kSafetensors;
  // distribution.json release fields
  std::string release_name;  // empty: "<model_type>-<G>x"
  uint64_t release_version = 1;
  std::string created;  // RFC 3339 UTC; empty: now
  std::string expires;  // RFC 3339 UTC; empty: created + valid_days
  int valid_days = 365;
  // After packing, check the checkpoint did not change while it was read (reliability row 35):
  // kStamp compares stat stamps with those taken when it was hashed (core/file_stamp.h);
  // kDigest hashes it a second time (doubles the reads: 1 TB more for a 1 TB checkpoint).
  SourceRecheck source_recheck = SourceRecheck::kStamp;
  // Test hook: called after each tensor's bytes are written, with the running count; an error
  // aborts the pack there (crash simulation).
  std::function<Status(uint64_t tensors_written)> after_tensor;
  // Test hook: runs after the new release is switched in, before the old one is deleted.
  std::function<void()> after_switch;
};

struct PackedFile {
  std::string path;  // relative to DIST
  uint64_t size = 0;
  std::string sha256;
};

struct PackReport {
  std::string out_dir;
  std::vector<std::string> bundles;
  std::vector<PackedFile> files;                 // every file written, sorted by path
  std::map<std::string, uint64_t> bundle_bytes;  // bundle -> bytes of its files
  std::map<std::string, std::map<std::string, int>> stored_types;  // bundle -> type -> tensors
  std::vector<TensorDecision> fallbacks;  // decisions whose stored type differs
  std::vector<NodeInfo> nodes;
  std::vector<std::string> removed;  // stale files of an earlier release
  std::vector<std::string> warnings;
  std::string imatrix_sha256;     // "" without --imatrix
  uint64_t imatrix_weighted = 0;  // stored tensors quantized with importance weights
  uint64_t tensors_written = 0;
  uint64_t bytes_written = 0;
  double seconds = 0;
};
nlohmann::json PackReportToJson(const PackReport& report);

Result<PackReport> PackRelease(const PackRequest& request);

}  // namespace moedist
