#include "formats/checkpoint_inventory.h"

#include <algorithm>

namespace moedist {

Result<CheckpointInventory> InventoryCheckpoint(const Checkpoint& ckpt, int groups) {
  const ModelConfig& c = ckpt.config();
  CheckpointInventory inv;
  inv.config = &c;
  inv.warnings = ckpt.warnings();
  ASSIGN_OR_RETURN(std::vector<ClassifiedTensor> tensors,
                   ClassifyCheckpoint(ckpt, &inv.unclassified));
  for (int l = 0; l < c.num_layers; ++l) {
    LayerInventory li{l, static_cast<bool>(c.is_moe_layer[l])};
    if (li.moe) li.expert_bytes.assign(c.routing.num_experts, 0);
    inv.layers.push_back(std::move(li));
  }
  inv.tensor_count = ckpt.tensors().size();
  for (const CheckpointTensor& t : ckpt.tensors()) {
    inv.total_bytes += t.num_bytes();
    inv.bytes_by_dtype[std::string(DTypeName(t.dtype()))] += t.num_bytes();
  }
  for (const ClassifiedTensor& ct : tensors) {
    const uint64_t n = ct.tensor->num_bytes();
    const std::string cls(TensorClassName(ct.role.cls));
    inv.bytes_by_class[cls] += n;
    inv.tensors_by_class[cls] += 1;
    const bool routed = IsRoutedExpertClass(ct.role.cls);
    (routed ? inv.routed_bytes : inv.trunk_bytes) += n;
    if (ct.role.layer < 0) continue;
    LayerInventory& li = inv.layers[ct.role.layer];
    (routed ? li.routed_bytes : li.trunk_bytes) += n;
    if (ct.role.cls == TensorClass::kRoutedExpert) {
      li.expert_bytes[ct.role.expert] += n;
    } else if (ct.role.cls == TensorClass::kRoutedExpertsPacked) {
      // Validated by ClassifyCheckpoint: axis 0 is the expert axis and divides the bytes.
      for (uint64_t& b : li.expert_bytes) b += n / li.expert_bytes.size();
    }
  }
  // Unclassified tensors still count toward the total, so trunk + routed = total only when
  // every tensor is classified.
  if (groups > 0) {
    const int E = c.routing.num_experts;
    const int per_node = (E + groups - 1) / groups;
    uint64_t node = inv.trunk_bytes;
    for (const LayerInventory& li : inv.layers) {
      if (!li.moe) continue;
      uint64_t best = 0;
      for (int start = 0; start < E; start += per_node) {
        uint64_t sum = 0;
        for (int e = start; e < std::min(E, start + per_node); ++e) sum += li.expert_bytes[e];
        best = std::max(best, sum);
      }
      node += best;
    }
    inv.node = NodeEstimate{groups, per_node, node,
                            inv.total_bytes ? static_cast<double>(node) / inv.total_bytes : 0.0};
  }
  return inv;
}

nlohmann::json InventoryToJson(const CheckpointInventory& inv) {
  const ModelConfig& c = *inv.config;
  const RoutingConfig& r = c.routing;
  nlohmann::json j;
  j["family"] = FamilyName(c.family);
  j["model_type"] = c.model_type;
  j["architecture"] = c.architecture;
  j["num_layers"] = c.num_layers;
  j["moe_layers"] = c.MoeLayers();
  j["num_experts"] = r.num_experts;
  j["top_k"] = r.top_k;
  j["num_shared_experts"] = r.num_shared_experts;
  j["hidden_size"] = c.hidden_size;
  j["vocab_size"] = c.vocab_size;
  j["moe_intermediate_size"] = c.moe_intermediate_size;
  j["routing"] = {{"scoring", ScoringFuncName(r.scoring)},
                  {"norm_topk_prob", r.norm_topk_prob},
                  {"correction_bias", r.correction_bias},
                  {"n_group", r.n_group},
                  {"topk_group", r.topk_group},
                  {"routed_scaling_factor", r.routed_scaling_factor},
                  {"shared_expert_gate", r.shared_expert_gate},
                  {"weight_scales_input", r.weight_scales_input}};
  j["attention"] = {{"kind", c.attention.kind == AttentionKind::kMla ? "mla" : "gqa"},
                    {"num_heads", c.attention.num_heads},
                    {"num_kv_heads", c.attention.num_kv_heads},
                    {"head_dim", c.attention.head_dim}};
  j["tensor_count"] = inv.tensor_count;
  j["bytes"] = {{"total", inv.total_bytes},
                {"trunk", inv.trunk_bytes},
                {"routed_experts", inv.routed_bytes}};
  j["bytes_by_class"] = inv.bytes_by_class;
  j["tensors_by_class"] = inv.tensors_by_class;
  j["bytes_by_dtype"] = inv.bytes_by_dtype;
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerInventory& li : inv.layers) {
    nlohmann::json l = {{"layer", li.layer},
                        {"moe", li.moe},
                        {"trunk_bytes", li.trunk_bytes},
                        {"routed_bytes", li.routed_bytes}};
    if (li.moe) l["expert_bytes"] = li.expert_bytes;
    layers.push_back(std::move(l));
  }
  j["layers"] = std::move(layers);
  j["unclassified"] = inv.unclassified;
  j["warnings"] = inv.warnings;
  if (inv.node) {
    j["node_estimate"] = {{"groups", inv.node->groups},
                          {"experts_per_node_per_layer", inv.node->experts_per_node},
                          {"node_bytes", inv.node->node_bytes},
                          {"fraction_of_model", inv.node->fraction_of_model}};
  }
  return j;
}

}  // namespace moedist
