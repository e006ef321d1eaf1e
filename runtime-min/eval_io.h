// Files of `moedist eval`: token-id batches in (--ids), logits and routing out.
//
//   --ids:          a JSON array of token-id arrays, [[1, 2, 3], [4, 5]]; each id in
//                   [0, vocab_size), each sequence non-empty.
//   --logits-out:   safetensors with one F32 tensor "logits" [B, S, V] (sequences of equal
//                   length S).
//   --routing-out:  JSON {"<layer>": [[experts of token 0], [experts of token 1], ...]}, token
//                   index b·S + s (sequences concatenated in order), experts in selection order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "runtime-min/routing_observer.h"

namespace moedist {

Result<std::vector<std::vector<int32_t>>> ParseTokenIdBatches(std::string_view json_text,
                                                              std::string_view source,
                                                              int vocab_size);
Result<std::vector<std::vector<int32_t>>> LoadTokenIdBatches(const std::string& path,
                                                             int vocab_size);

// Records the chosen experts of every MoE layer and token, across sequences run in order.
class SelectionRecorder : public RoutingObserver {
 public:
  // Call after each sequence: the next sequence's tokens follow this one's.
  void EndSequence() { base_ = next_; }
  void OnRouting(const RoutingBatch& batch) override;
  nlohmann::json ToJson() const;

 private:
  int64_t base_ = 0, next_ = 0;
  std::map<int, std::vector<std::vector<int32_t>>> experts_;  // layer → [token][k]
};

Status WriteLogitsSafetensors(const std::string& path, const std::vector<float>& logits,
                              uint64_t batch, uint64_t seq_len, uint64_t vocab);

}  // namespace moedist
