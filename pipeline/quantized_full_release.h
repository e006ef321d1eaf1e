// The "quantized full model" `validate` compares nodes with: the release's source checkpoint
// packed with the release's own recipe as a single node holding every expert (one group of all
// experts not in the overlay, plus the release's overlay, so each expert gets exactly the type it
// has in the release's nodes). Its node-0 then loads like any node (node_model.h).
// Thread safety: plain functions.
#pragma once

#include <string>

#include "core/status.h"
#include "formats/model_config.h"
#include "manifest/distribution.h"
#include "pipeline/pack_recipe.h"
#include "pipeline/pack_release.h"

namespace moedist {

// The recipe recorded in distribution.json (`recipe.recipe`, as pack stores it).
Result<PackRecipe> ReleaseRecipe(const Distribution& d);
// True when the recipe stores every tensor as the checkpoint has it ("keep" everywhere): the
// nodes are then exact slices of the checkpoint and the quantized full model is the full model.
bool RecipeKeepsEverything(const PackRecipe& recipe);

// The pack request for the one-node release of `checkpoint_dir` into `out_dir`.
Result<PackRequest> QuantizedFullRequest(const Distribution& d, const ModelConfig& config,
                                         const std::string& checkpoint_dir,
                                         const std::string& out_dir);

}  // namespace moedist
