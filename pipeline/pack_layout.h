// Pack layout: everything `pack` will write, decided before a byte is written
// (docs/formats/bundle.md).
//
// From a classified checkpoint, a plan and a recipe, PlanRelease builds:
//   trunk/     every tensor that is not a routed expert (full routers included);
//   group-<k>/ the routed experts of group k, every MoE layer, original names and ids; packed
//              layouts keep their packed tensor, holding only the group's experts along axis 0
//              in ascending id order;
//   overlay/   the same for the overlay experts (only when some layer has an overlay);
//   or, with PackLayoutKind::kExperts, in place of group-<k>/ and overlay/:
//   expert-<layer>-<id>/ one routed expert of one layer (packed layouts: its axis-0 slice), so
//              a node downloads exactly the experts it holds and a plan change rewrites only
//              the experts that moved (docs/formats/bundle.md "Expert layout");
//   node-<g>/  config.json, moedist_node.json, an index that points into the bundles above (and
//              renames experts in slice mode), the sliced routers in its own small shard (slice
//              mode), expert_mask.json (mask mode), and the checkpoint's tokenizer files.
// Each stored tensor carries its type decision (recipe rule, stored type, fallback note) and a
// producer that streams its bytes from the checkpoint's mapping. The checkpoint must outlive
// the layout. Thread safety: built once, then read-only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "formats/tensor_taxonomy.h"
#include "pipeline/bundle_writer.h"
#include "pipeline/expert_plan.h"
#include "pipeline/node_bundle.h"
#include "pipeline/pack_imatrix.h"
#include "pipeline/pack_layout_kind.h"
#include "pipeline/pack_recipe.h"
#include "pipeline/standin_file.h"

namespace moedist {

struct TensorDecision {
  std::string tensor;  // source tensor name
  std::string bundle;
  std::string recipe_class;
  TypeChoice choice;
};

// A tensor as a node exposes it, for the re-read check.
struct ExposedTensor {
  DType dtype = DType::kF32;
  std::vector<uint64_t> shape;
  std::string quant;  // moedist.quant metadata; empty for plain dtypes
};

struct NodePlan {
  NodeInfo info;
  BundlePlan shard;         // the node's own shard (sliced routers); no tensors in mask mode
  std::string config_text;  // config.json
  std::string index_text;   // model.safetensors.index.json
  std::map<std::string, ExposedTensor> exposed;  // what Checkpoint::Open must find
};

struct ReleaseLayout {
  // trunk, group-0 .. group-<G-1>, overlay (if any); or trunk, expert-<layer>-<id> in order
  std::vector<BundlePlan> bundles;
  std::vector<NodePlan> nodes;
  // Experts layout: expert-<layer>-<id> bundle -> (layer, expert id).
  std::map<std::string, std::pair<int, int>> expert_bundles;
  std::vector<TensorDecision> decisions;
  std::vector<std::string> aux_files;  // small checkpoint files copied into each node
  std::vector<std::string> warnings;
  // With LayoutOptions::imatrix: stored tensors quantized with importance weights (a tensor in
  // several bundles, or sliced per node, counts once per stored copy).
  uint64_t imatrix_weighted = 0;

  const BundlePlan* FindBundle(std::string_view name) const;
};

struct LayoutOptions {
  PackLayoutKind kind = PackLayoutKind::kGroups;
  uint64_t shard_bytes = uint64_t{4} << 30;
  // Non-null: block-quantized tensors the importance matrix describes are quantized with its
  // weights; a warning lists block-quantized tensors it does not describe.
  const PackImatrix* imatrix = nullptr;
  // Non-null: every node also holds the proxy experts of the groups it lacks (plan stand-ins,
  // standin_file.h), after its own experts in its numbering, with router rows in its shard.
  const StandInFile* standins = nullptr;
};

// Checks that `plan` fits `config` (expert count, top-k, the set of MoE layers, every node able
// to route), naming the layer and group that do not.
Status CheckPlanFitsModel(const ExpertPlan& plan, const ModelConfig& config);

// Tokenizer and generation files nodes get a copy of: the names, and those present in a
// checkpoint directory.
const std::vector<std::string_view>& CheckpointAuxFileNames();
std::vector<std::string> CheckpointAuxFiles(const std::string& checkpoint_dir);

Result<ReleaseLayout> PlanRelease(const Checkpoint& ckpt,
                                  const std::vector<ClassifiedTensor>& classified,
                                  const ExpertPlan& plan, const PackRecipe& recipe,
                                  const LayoutOptions& options);

}  // namespace moedist
