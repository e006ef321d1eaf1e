#include "pipeline/imatrix_recorder.h"

#include <fmt/format.h>

namespace moedist {
namespace {

// llama.cpp's tensor names (src/llama-arch.cpp), as formats/gguf_tensor_names.cpp maps the
// Hugging Face names to them.
std::string_view Stem(MatmulWeight w) {
  switch (w) {
    case MatmulWeight::kAttnQ: return "attn_q";
    case MatmulWeight::kAttnK: return "attn_k";
    case MatmulWeight::kAttnV: return "attn_v";
    case MatmulWeight::kAttnOutput: return "attn_output";
    case MatmulWeight::kAttnQA: return "attn_q_a";
    case MatmulWeight::kAttnQB: return "attn_q_b";
    case MatmulWeight::kAttnKvA: return "attn_kv_a_mqa";
    case MatmulWeight::kAttnKvB: return "attn_kv_b";
    case MatmulWeight::kRouter: return "ffn_gate_inp";
    case MatmulWeight::kSharedExpertGate: return "ffn_gate_inp_shexp";
    case MatmulWeight::kFfnGate: return "ffn_gate";
    case MatmulWeight::kFfnUp: return "ffn_up";
    case MatmulWeight::kFfnDown: return "ffn_down";
    case MatmulWeight::kSharedGate: return "ffn_gate_shexp";
    case MatmulWeight::kSharedUp: return "ffn_up_shexp";
    case MatmulWeight::kSharedDown: return "ffn_down_shexp";
    case MatmulWeight::kExpertGate: return "ffn_gate_exps";
    case MatmulWeight::kExpertUp: return "ffn_up_exps";
    case MatmulWeight::kExpertDown: return "ffn_down_exps";
  }
  return "";
}

bool IsRoutedExpert(MatmulWeight w) {
  return w == MatmulWeight::kExpertGate || w == MatmulWeight::kExpertUp ||
         w == MatmulWeight::kExpertDown;
}

uint64_t InOf(const WeightMatrix& w) {
  return w.empty() ? 0 : static_cast<uint64_t>(w.in);
}

uint64_t MlpIn(const MlpWeights& m) {
  return InOf(m.gate) + InOf(m.up) + InOf(m.down);
}

}  // namespace

std::string ImatrixTensorName(int layer, MatmulWeight weight) {
  return fmt::format("blk.{}.{}.weight", layer, Stem(weight));
}

uint64_t ImatrixRecorderBytes(const Model& model) {
  uint64_t channels = 0, matrices = 0;
  for (const LayerWeights& lw : model.weights().layers) {
    const AttentionWeights& a = lw.attn;
    for (const Linear* l : {&a.q, &a.k, &a.v, &a.o, &a.q_a, &a.q_b, &a.kv_a, &a.kv_b}) {
      channels += InOf(l->w);
      matrices += 1;
    }
    channels +=
        MlpIn(lw.dense) + MlpIn(lw.moe.shared) + InOf(lw.moe.router.w) + InOf(lw.moe.shared_gate.w);
    matrices += 8;
    for (const MlpWeights& e : lw.moe.experts) {
      channels += MlpIn(e);
      matrices += 3;
    }
  }
  return channels * sizeof(double) + matrices * sizeof(uint64_t);
}

ImatrixRecorder::ImatrixRecorder(int num_layers, int num_experts) : num_experts_(num_experts) {
  std::array<int, kNumMatmulWeights> none;
  none.fill(-1);
  slot_.assign(static_cast<size_t>(num_layers), none);
}

void ImatrixRecorder::OnMatmulInput(const MatmulInput& in) {
  if (in.layer < 0 || static_cast<size_t>(in.layer) >= slot_.size() || in.in_features <= 0) return;
  const bool expert = IsRoutedExpert(in.weight);
  if (expert && (in.expert < 0 || in.expert >= num_experts_)) return;
  int& slot = slot_[in.layer][static_cast<int>(in.weight)];
  if (slot < 0) {
    slot = static_cast<int>(sums_.size());
    Sums s;
    const size_t matrices = expert ? static_cast<size_t>(num_experts_) : 1;
    s.in_features = in.in_features;
    s.sum2.assign(matrices * static_cast<size_t>(in.in_features), 0.0);
    s.counts.assign(matrices, 0);
    sums_.emplace_back(ImatrixTensorName(in.layer, in.weight), std::move(s));
  }
  Sums& s = sums_[slot].second;
  if (s.in_features != in.in_features) {
    if (error_.empty()) {
      error_ = fmt::format("{} was reported {} then {} input features", sums_[slot].first,
                           s.in_features, in.in_features);
    }
    return;
  }
  const size_t matrix = expert ? static_cast<size_t>(in.expert) : 0;
  double* sum2 = s.sum2.data() + matrix * static_cast<size_t>(s.in_features);
  for (int t = 0; t < in.num_rows; ++t) {
    const float* x = in.rows + static_cast<size_t>(t) * in.in_features;
    for (int64_t j = 0; j < in.in_features; ++j) {
      sum2[j] += static_cast<double>(x[j]) * static_cast<double>(x[j]);
    }
  }
  s.counts[matrix] += static_cast<uint64_t>(in.num_rows);
}

Imatrix ImatrixRecorder::ToImatrix() const {
  Imatrix m;
  for (const auto& [name, s] : sums_) {
    ImatrixEntry e;
    e.in_features = static_cast<uint64_t>(s.in_features);
    e.in_sum2.assign(s.sum2.begin(), s.sum2.end());
    e.counts.assign(s.counts.begin(), s.counts.end());
    m.entries.emplace(name, std::move(e));
  }
  return m;
}

}  // namespace moedist
