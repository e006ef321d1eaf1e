// Helpers for tests against the Hugging Face reference fixtures in tests/fixtures/hf-tiny:
// reading reference tensors and reference.json, and recording routing through the observer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/safetensors_reader.h"
#include "runtime-min/routing_observer.h"

namespace moedist::testing {

std::string FixtureDir(const std::string& family);

struct Reference {
  std::shared_ptr<const SafetensorsFile> tensors;  // reference.safetensors
  nlohmann::json json;                             // reference.json
  bool Has(const std::string& name) const { return tensors->Find(name) != nullptr; }
  std::vector<float> F32(const std::string& name) const;
  std::vector<int64_t> I64(const std::string& name) const;
  std::vector<std::vector<int32_t>> InputIds() const;  // [B][S]
};
Reference LoadReference(const std::string& family);

// Records every token's chosen experts and weights per layer, token index b*S + s when the
// sequences are run in order.
class RoutingRecorder : public RoutingObserver {
 public:
  void OnRouting(const RoutingBatch& b) override;
  void NextSequence(int length) { base_ += length; }
  // layer → [token][k]
  std::map<int, std::vector<std::vector<int32_t>>> experts;
  std::map<int, std::vector<std::vector<float>>> weights;
  std::map<int, std::vector<std::vector<float>>> probs;

 private:
  int base_ = 0;
};

}  // namespace moedist::testing
