// The `tiers` section `validate` writes into distribution.json (docs/tiers.md): the hotness tiers
// of the release's calibration profile, priced in the bytes the release stores each expert in
// (the recipe's types, overlay experts under the "overlay" class), with coverage measured again
// on a gate profile of the eval suite that is run here over the source checkpoint, unmasked.
//
// Why validate and not pack: the eval figures need the source model run over the eval suite,
// which validate already has (pack has neither the eval suite nor a forward pass), and validate
// already rewrites and re-signs distribution.json; computing the whole section in one stage
// means a manifest never carries calibration figures without their held-out check.
// Thread safety: as runtime-min (one forward pass at a time per process).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "formats/hf_checkpoint.h"
#include "manifest/distribution.h"
#include "pipeline/hotness_tiers.h"
#include "pipeline/pack_recipe.h"

namespace moedist {

struct ReleaseTiersRequest {
  std::string profile_path;  // the calibration profile (ResolveReleaseProfilePath)
  std::string checkpoint_dir;
  std::string eval_path;
  int max_prompt_tokens = 256;         // eval prompts are cut to this many tokens, as validate's
  std::optional<uint64_t> tier_bytes;  // resident set budget; none: mass tiers only
};

// --profile when given, else the profile distribution.json's calibration section records when
// that file exists; "" when neither.
std::string ResolveReleaseProfilePath(const std::string& given, const Distribution& d);

// Bytes per expert of every MoE layer as pack stores them under `recipe` (layer -> [E]).
// Packed layouts share a tensor's bytes evenly among its experts.
Result<std::map<int, std::vector<uint64_t>>> ReleasedExpertBytes(const Checkpoint& ckpt,
                                                                 const PackRecipe& recipe,
                                                                 const Distribution& d);

Result<HotnessTiers> MeasureReleaseTiers(const ReleaseTiersRequest& r, const Distribution& d);

}  // namespace moedist
