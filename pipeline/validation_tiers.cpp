#include "pipeline/validation_tiers.h"

#include <algorithm>
#include <filesystem>

#include "formats/tensor_taxonomy.h"
#include "pipeline/gate_profiler.h"
#include "pipeline/pack_convert.h"
#include "pipeline/quantized_full_release.h"
#include "quant/dtype.h"

namespace moedist {
namespace {

bool InOverlay(const std::map<uint32_t, LayerPartition>& partition, int layer, int expert) {
  auto it = partition.find(static_cast<uint32_t>(layer));
  if (it == partition.end()) return false;
  const auto& o = it->second.overlay;
  return std::find(o.begin(), o.end(), static_cast<uint32_t>(expert)) != o.end();
}

// Stored bytes of one routed tensor: the recipe's type for weights, the source bytes for what
// pack keeps as it is (biases, scales, packed MXFP4 blocks).
Result<uint64_t> StoredBytes(const PackRecipe& recipe, const ClassifiedTensor& ct, bool overlay) {
  const CheckpointTensor& t = *ct.tensor;
  const bool is_float = GetDTypeInfo(t.dtype()).is_float && ct.role.part == TensorPart::kWeight;
  if (!is_float) return t.num_bytes();
  TensorFacts facts{t.name, ct.role.cls, overlay, t.dtype(), t.shape(), is_float};
  ASSIGN_OR_RETURN(TypeChoice choice, ResolveTensorType(recipe, facts));
  return ConvertedBytes(ConvertInput{.tensor = &t}, choice.stored);
}

std::string LayerList(const GateProfile& p) {
  std::string s;
  for (const LayerGateProfile& lp : p.layers)
    s += (s.empty() ? "" : ",") + std::to_string(lp.layer);
  return s;
}

}  // namespace

std::string ResolveReleaseProfilePath(const std::string& given, const Distribution& d) {
  if (!given.empty()) return given;
  const nlohmann::json& c = d.calibration;
  if (!c.contains("profile") || !c["profile"].is_object()) return "";
  const std::string recorded = c["profile"].value("path", "");
  return !recorded.empty() && std::filesystem::exists(recorded) ? recorded : "";
}

Result<std::map<int, std::vector<uint64_t>>> ReleasedExpertBytes(const Checkpoint& ckpt,
                                                                 const PackRecipe& recipe,
                                                                 const Distribution& d) {
  const ModelConfig& c = ckpt.config();
  const int experts = c.routing.num_experts;
  const std::map<uint32_t, LayerPartition> partition = d.PartitionLayers();
  ASSIGN_OR_RETURN(std::vector<ClassifiedTensor> tensors, ClassifyCheckpoint(ckpt));
  std::map<int, std::vector<uint64_t>> out;
  for (const ClassifiedTensor& ct : tensors) {
    if (!IsRoutedExpertClass(ct.role.cls) || ct.role.layer < 0) continue;
    std::vector<uint64_t>& layer = out[ct.role.layer];
    layer.resize(experts, 0);
    const bool packed = ct.role.cls == TensorClass::kRoutedExpertsPacked;
    const bool overlay = !packed && InOverlay(partition, ct.role.layer, ct.role.expert);
    auto bytes = StoredBytes(recipe, ct, overlay);
    if (!bytes.ok()) return bytes.status().WithContext("expert bytes under the release's recipe");
    if (!packed) {
      layer[ct.role.expert] += *bytes;
    } else {
      for (uint64_t& b : layer) b += *bytes / experts;
    }
  }
  return out;
}

Result<HotnessTiers> MeasureReleaseTiers(const ReleaseTiersRequest& r, const Distribution& d) {
  ASSIGN_OR_RETURN(GateProfile calibration, ReadGateProfile(r.profile_path));
  ASSIGN_OR_RETURN(std::unique_ptr<Checkpoint> ckpt, Checkpoint::Open(r.checkpoint_dir));
  ASSIGN_OR_RETURN(PackRecipe recipe, ReleaseRecipe(d));
  TierOptions to;
  to.resident_bytes = r.tier_bytes;
  to.bytes_source = "release";
  ASSIGN_OR_RETURN(to.expert_bytes, ReleasedExpertBytes(*ckpt, recipe, d));
  ASSIGN_OR_RETURN(HotnessTiers tiers, ComputeHotnessTiers(calibration, to));
  // The eval suite's routing, unmasked, over the calibration profile's layers.
  ProfileOptions po;
  po.checkpoint = r.checkpoint_dir;
  po.suite = r.eval_path;
  po.layers = LayerList(calibration);
  po.max_tokens_per_prompt = r.max_prompt_tokens;
  po.topm = calibration.topm;
  ASSIGN_OR_RETURN(GateProfile eval, RunGateProfile(po));
  RETURN_IF_ERROR(AddEvalCoverage(tiers, eval, std::filesystem::path(r.eval_path).filename()));
  // Provenance by file name and digest: absolute paths of the build machine mean nothing to
  // whoever installs the release.
  tiers.calibration.path = std::filesystem::path(tiers.calibration.path).filename().string();
  return tiers;
}

}  // namespace moedist
