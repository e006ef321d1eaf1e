// ExpertMask: which routed experts each MoE layer may use (a node's group ∪ overlay).
//
// The router picks its top-k among the allowed experts exactly as the family's own router does
// with the others at -inf (router.h). JSON forms (docs/runtime.md):
//   {"allowed": [ids]}                       the same set for every MoE layer
//   {"layers": {"<layer>": [ids], ...}}      per MoE layer; layers not listed allow every expert
// A mask is refused, with the layer named, when an id is out of range or repeated, a layer key
// is not a MoE layer, or a layer allows fewer experts than the router's top-k.
// Thread safety: immutable after construction.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "formats/model_config.h"
#include "runtime-min/expert_standins.h"

namespace moedist {

class ExpertMask {
 public:
  // Every expert allowed in every layer.
  ExpertMask() = default;

  // Validates per-layer allowed lists (layer index → expert ids) against `config`.
  static Result<ExpertMask> FromLayers(const ModelConfig& config,
                                       const std::map<int, std::vector<int>>& layers,
                                       std::string_view source);
  static Result<ExpertMask> Parse(std::string_view json_text, std::string_view source,
                                  const ModelConfig& config);
  static Result<ExpertMask> Load(const std::string& path, const ModelConfig& config);

  // [num_experts] flags (nonzero = allowed) for `layer`, or null when all are allowed.
  const uint8_t* allowed(int layer) const {
    if (layer < 0 || layer >= static_cast<int>(allowed_.size()) || allowed_[layer].empty()) {
      return nullptr;
    }
    return allowed_[layer].data();
  }
  bool restricts_anything() const;

  // This mask with stand-ins for experts it excludes (expert_standins.h): layers with stand-ins
  // compute them where plain masking would drop the expert.
  ExpertMask WithStandIns(std::shared_ptr<const ExpertStandIns> standins) const {
    ExpertMask m = *this;
    m.standins_ = std::move(standins);
    return m;
  }
  // The stand-ins of `layer`, or null (plain masking).
  const LayerStandIns* standins(int layer) const {
    if (!standins_) return nullptr;
    auto it = standins_->layers.find(layer);
    return it == standins_->layers.end() ? nullptr : &it->second;
  }

 private:
  std::vector<std::vector<uint8_t>> allowed_;  // [layer]; empty = all experts
  std::shared_ptr<const ExpertStandIns> standins_;
};

}  // namespace moedist
