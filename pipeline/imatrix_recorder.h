// ImatrixRecorder: the ActivationObserver `profile --imatrix` hands the forward pass; it keeps,
// per weight matrix, what llama.cpp's llama-imatrix keeps (formats/imatrix_gguf.h): the sum over
// tokens of each input channel's square and the number of tokens, per expert for routed experts.
//
// Sums are doubles, added token by token in the order the forward pass reports them, so the
// prompt-by-prompt and layer-by-layer passes (which give every matrix its prompts in the same
// order) record identical values. Memory: 8 bytes per input channel of every matrix (routed
// experts: per expert), allocated on first use; ImatrixRecorderBytes() bounds it beforehand.
// Names are llama.cpp's GGUF tensor names ("blk.3.attn_q.weight", merged experts
// "blk.3.ffn_up_exps.weight" with one matrix per expert). The lm_head ("output.weight") is not
// recorded, as llama-imatrix by default. Not thread-safe: one forward pass feeds it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/imatrix_gguf.h"
#include "runtime-min/activation_observer.h"
#include "runtime-min/model.h"

namespace moedist {

// "blk.<layer>.attn_q.weight", … for each site (merged "…_exps" names for routed experts).
std::string ImatrixTensorName(int layer, MatmulWeight weight);

// Upper bound on the bytes an ImatrixRecorder holds for `model` (every matrix it can see).
uint64_t ImatrixRecorderBytes(const Model& model);

class ImatrixRecorder final : public ActivationObserver {
 public:
  explicit ImatrixRecorder(int num_layers, int num_experts);
  void OnMatmulInput(const MatmulInput& input) override;

  // The sums so far as an imatrix (in_sum2 rounded to f32, counts as f32), without datasets or
  // chunk fields.
  Imatrix ToImatrix() const;
  // Set when a matrix was reported with two different widths (a runtime bug): the first case.
  const std::string& error() const { return error_; }

 private:
  struct Sums {
    int64_t in_features = 0;
    std::vector<double> sum2;      // [matrices][in_features]
    std::vector<uint64_t> counts;  // [matrices]
  };

  int num_experts_;
  std::vector<std::array<int, kNumMatmulWeights>> slot_;  // [layer][weight] -> sums_, or -1
  std::vector<std::pair<std::string, Sums>> sums_;
  std::string error_;
};

}  // namespace moedist
