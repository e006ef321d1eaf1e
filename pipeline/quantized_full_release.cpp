#include "pipeline/quantized_full_release.h"

#include <algorithm>

#include "core/json_strict.h"

namespace moedist {

Result<PackRecipe> ReleaseRecipe(const Distribution& d) {
  if (!d.recipe.contains("recipe") || !d.recipe["recipe"].is_object()) {
    return Status::Corruption("distribution.json: recipe.recipe is missing or not an object");
  }
  return ParseRecipe(DumpJsonStable(d.recipe["recipe"]), "distribution.json recipe.recipe");
}

bool RecipeKeepsEverything(const PackRecipe& recipe) {
  auto keep = [](const RecipeType& t) { return !t.type.has_value(); };
  return keep(recipe.default_type) &&
         std::all_of(recipe.classes.begin(), recipe.classes.end(),
                     [&](const auto& c) { return keep(c.second); }) &&
         std::all_of(recipe.overrides.begin(), recipe.overrides.end(),
                     [&](const RecipeOverride& o) { return keep(o.type); });
}

Result<PackRequest> QuantizedFullRequest(const Distribution& d, const ModelConfig& config,
                                         const std::string& checkpoint_dir,
                                         const std::string& out_dir) {
  PackRequest req;
  req.checkpoint_dir = checkpoint_dir;
  req.out_dir = out_dir;
  ASSIGN_OR_RETURN(req.recipe, ReleaseRecipe(d));
  ExpertPlan& plan = req.plan;
  plan.num_experts = config.routing.num_experts;
  plan.top_k = config.routing.top_k;
  plan.num_groups = 1;
  plan.strategy = "custom";
  const std::map<uint32_t, LayerPartition> layers = d.PartitionLayers();
  for (int layer : config.MoeLayers()) {
    LayerPlan lp;
    if (auto it = layers.find(static_cast<uint32_t>(layer)); it != layers.end()) {
      lp.overlay.assign(it->second.overlay.begin(), it->second.overlay.end());
      std::sort(lp.overlay.begin(), lp.overlay.end());
    }
    lp.groups.resize(1);
    for (int e = 0; e < plan.num_experts; ++e) {
      if (!std::binary_search(lp.overlay.begin(), lp.overlay.end(), e)) lp.groups[0].push_back(e);
    }
    plan.layers[layer] = std::move(lp);
  }
  req.release_name = d.release.name + "-full";
  if (req.release_name.size() > 64) req.release_name = "quantized-full";
  req.release_version = d.release.version;
  req.created = d.release.created;
  req.expires = d.release.expires;
  req.source_recheck = SourceRecheck::kNone;  // validate checked the source's digests already
  return req;
}

}  // namespace moedist
