// The MoE block and the SwiGLU MLP it (and dense layers) are made of.
#include <cstring>
#include <vector>

#include "runtime-min/feed_forward.h"
#include "runtime-min/kernels.h"
#include "runtime-min/matmul.h"
#include "runtime-min/moe_standins.h"

namespace moedist {

namespace {

// The observer's names for an MLP's gate, up and down matrices.
struct MlpWeightNames {
  MatmulWeight gate, up, down;
};
MlpWeightNames NamesOf(MlpSite::Kind kind) {
  switch (kind) {
    case MlpSite::Kind::kShared:
      return {MatmulWeight::kSharedGate, MatmulWeight::kSharedUp, MatmulWeight::kSharedDown};
    case MlpSite::Kind::kExpert:
      return {MatmulWeight::kExpertGate, MatmulWeight::kExpertUp, MatmulWeight::kExpertDown};
    case MlpSite::Kind::kDense: break;
  }
  return {MatmulWeight::kFfnGate, MatmulWeight::kFfnUp, MatmulWeight::kFfnDown};
}

}  // namespace

void MlpForward(const MlpWeights& w, const float* x, int n, Activations& act, float* out,
                ActivationObserver* activations, MlpSite site) {
  const int64_t width = w.gate.out;
  float* gate = Grow(act.gate, size_t(n) * width);
  float* up = Grow(act.up, size_t(n) * width);
  if (activations) {
    const MlpWeightNames names = NamesOf(site.kind);
    ObserveMatmulInput(activations, site.layer, names.gate, x, n, w.gate.in, site.expert);
    ObserveMatmulInput(activations, site.layer, names.up, x, n, w.up.in, site.expert);
  }
  MatMul(x, n, w.gate, gate);
  MatMul(x, n, w.up, up);
  SiluMul(gate, up, int64_t(n) * width, gate);
  if (activations) {
    ObserveMatmulInput(activations, site.layer, NamesOf(site.kind).down, gate, n, w.down.in,
                       site.expert);
  }
  MatMul(gate, n, w.down, out);
}

namespace {

// Step 1 of the MoE block: router logits [n, E] into act.routing.
void RouterLogits(const Model& m, int layer, const float* x, int n, Activations& act,
                  ActivationObserver* activations) {
  const ModelConfig& c = m.config();
  const MoeWeights& w = m.weights().layers[layer].moe;
  const int ne = c.routing.num_experts;
  RoutingResult& r = act.routing;
  r.num_tokens = n;
  r.num_experts = ne;
  r.top_k = c.routing.top_k;
  // Always row by row, never sgemm: each logit is then one dot product whose summation order
  // does not depend on how many experts the router has, so a node whose router is sliced to its
  // experts gets bit for bit the logits the full router gives those experts (sgemm's blocking,
  // and so its rounding, changes with E).
  r.logits.resize(size_t(n) * ne);
  ObserveMatmulInput(activations, layer, MatmulWeight::kRouter, x, n, w.router.w.in);
  MatMulRowwise(x, n, w.router.w, r.logits.data());
  for (int t = 0; t < n && !w.router.bias.empty(); ++t) {
    for (int e = 0; e < ne; ++e) r.logits[size_t(t) * ne + e] += w.router.bias[e];
  }
}

}  // namespace

void RouteMoeTokens(const Model& m, int layer, const float* x, int n, int pos0,
                    const ExpertMask* mask, RoutingObserver* observer, Activations& act,
                    ActivationObserver* activations) {
  const ModelConfig& c = m.config();
  const MoeWeights& w = m.weights().layers[layer].moe;
  const int ne = c.routing.num_experts, k = c.routing.top_k;
  RoutingResult& r = act.routing;
  RouterLogits(m, layer, x, n, act, activations);

  // 2. top-k among the allowed experts, as the family's router does (router.h).
  RouteTokens(c.routing, w.score_bias.empty() ? nullptr : w.score_bias.data(),
              mask ? mask->allowed(layer) : nullptr, r);

  // 3. hand the unmasked probabilities and the choice to the observer.
  if (observer) {
    observer->OnRouting({layer, pos0, n, ne, k, r.logits.data(), r.probs.data(), r.experts.data(),
                         r.weights.data()});
  }
}

// Steps 1-4 without stand-ins: route under the mask, run the chosen experts into out.
static void RoutedExperts(const Model& m, int layer, const float* x, int n, int pos0,
                          const ExpertMask* mask, RoutingObserver* observer, Activations& act,
                          float* out, ActivationObserver* activations) {
  const ModelConfig& c = m.config();
  const MoeWeights& w = m.weights().layers[layer].moe;
  const int ne = c.routing.num_experts, k = c.routing.top_k, hs = c.hidden_size;
  const RoutingResult& r = act.routing;
  RouteMoeTokens(m, layer, x, n, pos0, mask, observer, act, activations);

  // 4. routed experts, one expert at a time over the tokens that chose it, in expert order
  //    (as HF accumulates). Llama-4 scales the expert's input by the weight, others its output.
  std::vector<std::vector<int>> slots(ne);  // (token * k + j) entries per expert
  for (int s = 0; s < n * k; ++s) slots[r.experts[s]].push_back(s);
  const bool scale_input = c.routing.weight_scales_input;
  for (int e = 0; e < ne; ++e) {
    const int rows = static_cast<int>(slots[e].size());
    if (rows == 0) continue;
    float* xs = Grow(act.rows_in, size_t(rows) * hs);
    for (int i = 0; i < rows; ++i) {
      const int s = slots[e][i], t = s / k;
      const float scale = scale_input ? r.weights[s] : 1.0f;
      for (int d = 0; d < hs; ++d) xs[size_t(i) * hs + d] = x[size_t(t) * hs + d] * scale;
    }
    float* ys = Grow(act.rows_out, size_t(rows) * hs);
    MlpForward(w.experts[e], xs, rows, act, ys, activations, {layer, MlpSite::Kind::kExpert, e});
    for (int i = 0; i < rows; ++i) {
      const int s = slots[e][i], t = s / k;
      Axpy(scale_input ? 1.0f : r.weights[s], ys + size_t(i) * hs, out + size_t(t) * hs, hs);
    }
  }
}

void MoeForward(const Model& m, int layer, const float* x, int n, int pos0, const ExpertMask* mask,
                RoutingObserver* observer, Activations& act, float* out,
                ActivationObserver* activations) {
  const ModelConfig& c = m.config();
  const MoeWeights& w = m.weights().layers[layer].moe;
  const int hs = c.hidden_size;
  std::memset(out, 0, sizeof(float) * size_t(n) * hs);

  // Stand-ins for absent experts (expert_standins.h) take their own routing path.
  const LayerStandIns* standins = mask ? mask->standins(layer) : nullptr;
  if (standins && c.routing.scoring == ScoringFunc::kSoftmax && c.routing.n_group <= 1) {
    RouterLogits(m, layer, x, n, act, activations);
    RoutedWithStandIns(m, layer, x, n, mask->allowed(layer), *standins, act, out);
  } else {
    RoutedExperts(m, layer, x, n, pos0, mask, observer, act, out, activations);
  }

  // 5. shared experts, always on (Qwen2-MoE: scaled by sigmoid(shared_expert_gate · x)).
  if (w.has_shared) {
    float* ys = Grow(act.rows_out, size_t(n) * hs);
    MlpForward(w.shared, x, n, act, ys, activations, {layer, MlpSite::Kind::kShared});
    float* g = nullptr;
    if (!w.shared_gate.w.empty()) {
      g = Grow(act.shared_gate, n);
      ObserveMatmulInput(activations, layer, MatmulWeight::kSharedExpertGate, x, n,
                         w.shared_gate.w.in);
      ApplyLinear(w.shared_gate, x, n, g);
    }
    for (int t = 0; t < n; ++t) {
      Axpy(g ? Sigmoid(g[t]) : 1.0f, ys + size_t(t) * hs, out + size_t(t) * hs, hs);
    }
  }
}

}  // namespace moedist
