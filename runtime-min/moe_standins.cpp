#include "runtime-min/moe_standins.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime-min/feed_forward.h"
#include "runtime-min/kernels.h"
#include "runtime-min/router.h"

namespace moedist {

void OwnedExpert::Bind(int64_t hidden, int64_t width) {
  auto view = [](const std::vector<float>& v, int64_t out, int64_t in) {
    WeightMatrix w;
    w.data = reinterpret_cast<const uint8_t*>(v.data());
    w.type = QuantType::kF32;
    w.out = out;
    w.in = in;
    w.row_bytes = in * int64_t(sizeof(float));
    return w;
  };
  mlp.gate = view(gate, width, hidden);
  mlp.up = view(up, width, hidden);
  mlp.down = view(down, hidden, width);
}

float MembersLogSumExp(const float* logits, const std::vector<int>& members) {
  float mx = -INFINITY;
  for (int e : members) mx = std::max(mx, logits[e]);
  double sum = 0;
  for (int e : members) sum += std::exp(double(logits[e]) - mx);
  return mx + float(std::log(sum));
}

namespace {

// Runs `mlp` over the tokens listed in `slots` (token * k + j entries) and adds weight × output.
void RunExpertOnSlots(const MlpWeights& mlp, const std::vector<int>& slots, int k, const float* x,
                      int hs, const std::vector<float>& weights, Activations& act, float* out) {
  const int rows = static_cast<int>(slots.size());
  if (rows == 0) return;
  float* xs = Grow(act.rows_in, size_t(rows) * hs);
  for (int i = 0; i < rows; ++i) {
    std::copy_n(x + size_t(slots[i] / k) * hs, hs, xs + size_t(i) * hs);
  }
  float* ys = Grow(act.rows_out, size_t(rows) * hs);
  MlpForward(mlp, xs, rows, act, ys);
  for (int i = 0; i < rows; ++i) {
    Axpy(weights[slots[i]], ys + size_t(i) * hs, out + size_t(slots[i] / k) * hs, hs);
  }
}

}  // namespace

void RoutedWithStandIns(const Model& m, int layer, const float* x, int n, const uint8_t* allowed,
                        const LayerStandIns& si, Activations& act, float* out) {
  const ModelConfig& c = m.config();
  const MoeWeights& w = m.weights().layers[layer].moe;
  const int ne = c.routing.num_experts, k = c.routing.top_k, hs = c.hidden_size;
  const RoutingResult& full = act.routing;

  if (si.proxies.empty()) {
    // Constant stand-ins: the unmasked router's choice; absent experts give their mean output.
    RoutingResult r;
    r.num_tokens = n;
    r.num_experts = ne;
    r.top_k = k;
    r.logits = full.logits;
    RouteTokens(c.routing, nullptr, nullptr, r);
    std::vector<std::vector<int>> slots(ne);
    for (int s = 0; s < n * k; ++s) slots[r.experts[s]].push_back(s);
    for (int e = 0; e < ne; ++e) {
      if (!allowed || allowed[e]) {
        RunExpertOnSlots(w.experts[e], slots[e], k, x, hs, r.weights, act, out);
        continue;
      }
      auto it = si.constants.find(e);
      if (it == si.constants.end()) continue;  // no stand-in: the expert contributes nothing
      for (int s : slots[e]) Axpy(r.weights[s], it->second.data(), out + size_t(s / k) * hs, hs);
    }
    return;
  }

  // Proxies: held experts and proxies compete in one softmax; absent experts stay masked.
  const int np = static_cast<int>(si.proxies.size()), ext = ne + np;
  RoutingResult r;
  r.num_tokens = n;
  r.num_experts = ext;
  r.top_k = k;
  r.logits.resize(size_t(n) * ext);
  for (int t = 0; t < n; ++t) {
    const float* lt = full.logits.data() + size_t(t) * ne;
    float* row = r.logits.data() + size_t(t) * ext;
    std::copy_n(lt, ne, row);
    for (int p = 0; p < np; ++p) {
      const ProxyExpert& px = si.proxies[p];
      if (si.exact_logit) {
        row[ne + p] = MembersLogSumExp(lt, px.members);
      } else {
        double dot = 0;
        for (int d = 0; d < hs; ++d) dot += double(px.router_row[d]) * x[size_t(t) * hs + d];
        row[ne + p] = float(dot);
      }
    }
  }
  std::vector<uint8_t> flags(ext, 1);
  for (int e = 0; e < ne; ++e) flags[e] = (!allowed || allowed[e]) ? 1 : 0;
  RouteTokens(c.routing, nullptr, flags.data(), r);
  std::vector<std::vector<int>> slots(ext);
  for (int s = 0; s < n * k; ++s) slots[r.experts[s]].push_back(s);
  for (int e = 0; e < ext; ++e) {
    const MlpWeights& mlp = e < ne ? w.experts[e] : si.proxies[e - ne].expert.mlp;
    RunExpertOnSlots(mlp, slots[e], k, x, hs, r.weights, act, out);
  }
}

}  // namespace moedist
