#include "pipeline/standin_fit.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/ridge_solve.h"
#include "pipeline/proxy_clusters.h"
#include "runtime-min/forward.h"
#include "runtime-min/weight_matrix.h"

namespace moedist {
namespace {

// Sees the router input (activation observer) and the unmasked routing (routing observer) of
// every MoE layer and appends both to the record.
class CalibrationRecorder : public RoutingObserver, public ActivationObserver {
 public:
  explicit CalibrationRecorder(StandInCalibration& out) : out_(out) {}

  void OnMatmulInput(const MatmulInput& in) override {
    if (in.weight != MatmulWeight::kRouter) return;
    auto& x = out_.layers[in.layer].x;
    x.insert(x.end(), in.rows, in.rows + size_t(in.num_rows) * in.in_features);
  }
  void OnRouting(const RoutingBatch& b) override {
    StandInCalibration::Layer& l = out_.layers[b.layer];
    const size_t n = size_t(b.num_tokens);
    l.logits.insert(l.logits.end(), b.router_logits, b.router_logits + n * b.num_experts);
    l.experts.insert(l.experts.end(), b.experts, b.experts + n * b.top_k);
    l.weights.insert(l.weights.end(), b.weights, b.weights + n * b.top_k);
  }

 private:
  StandInCalibration& out_;
};

// An expert's three matrices in f32, row-major as stored ([I, H], [I, H], [H, I]).
struct DenseExpert {
  int64_t width = 0, hidden = 0;
  std::vector<float> gate, up, down;
};

std::vector<float> DenseRows(const WeightMatrix& w) {
  std::vector<float> out(size_t(w.out * w.in));
  for (int64_t r = 0; r < w.out; ++r) DecodeWeightRow(w, r, 0, w.in, out.data() + r * w.in);
  return out;
}

DenseExpert Decode(const MlpWeights& w) {
  return {w.gate.out, w.gate.in, DenseRows(w.gate), DenseRows(w.up), DenseRows(w.down)};
}

float Silu(float v) {
  return v / (1.0f + std::exp(-v));
}

// h [I] = silu(gate x) ⊙ (up x) over the units listed in `units` of `gate`/`up` ([I, H] rows).
void Hidden(const float* gate, const float* up, int64_t hidden, const float* x, float* h,
            int64_t units) {
  for (int64_t j = 0; j < units; ++j) {
    const float* g = gate + j * hidden;
    const float* u = up + j * hidden;
    double gs = 0, us = 0;
    for (int64_t d = 0; d < hidden; ++d) {
      gs += double(g[d]) * x[d];
      us += double(u[d]) * x[d];
    }
    h[j] = Silu(float(gs)) * float(us);
  }
}

// y [H] = down h (down [H, I]).
void Down(const float* down, int64_t hidden, int64_t width, const float* h, float* y) {
  for (int64_t d = 0; d < hidden; ++d) {
    const float* row = down + d * width;
    double s = 0;
    for (int64_t j = 0; j < width; ++j) s += double(row[j]) * h[j];
    y[d] = float(s);
  }
}

ProxyExpert MakeProxy(std::vector<int> members, std::vector<float> gate, std::vector<float> up,
                      std::vector<float> down, int64_t hidden, int64_t width) {
  ProxyExpert p;
  p.members = std::move(members);
  p.expert.gate = std::move(gate);
  p.expert.up = std::move(up);
  p.expert.down = std::move(down);
  p.expert.Bind(hidden, width);
  return p;
}

// Σ_t weight_t · [member chosen at t]: the members' routing weight per token, and which chose.
struct GroupTokens {
  std::vector<int64_t> tokens;                         // tokens where some member was chosen
  std::vector<std::vector<std::pair<int, float>>> by;  // [i] (member index, weight) chosen
};

GroupTokens TokensOf(const StandInCalibration::Layer& cal, int64_t T, int k,
                     const std::vector<int>& members) {
  GroupTokens g;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<std::pair<int, float>> chosen;
    for (int j = 0; j < k; ++j) {
      const int e = cal.experts[size_t(t * k + j)];
      auto it = std::find(members.begin(), members.end(), e);
      if (it != members.end()) {
        chosen.push_back({int(it - members.begin()), cal.weights[size_t(t * k + j)]});
      }
    }
    if (!chosen.empty()) {
      g.tokens.push_back(t);
      g.by.push_back(std::move(chosen));
    }
  }
  return g;
}

// For members no calibration token chose (a cluster of rarely used experts, or a short suite):
// the `count` tokens where the members' log-sum-exp logit is highest, each with the members' own
// softmax probabilities as routing weights, so the proxy is fitted where they come closest to
// being chosen.
GroupTokens NearestTokensOf(const StandInCalibration::Layer& cal, int64_t T, int ne,
                            const std::vector<int>& members, int64_t count) {
  std::vector<std::pair<float, int64_t>> by_lse;
  for (int64_t t = 0; t < T; ++t) {
    by_lse.push_back({MembersLogSumExp(cal.logits.data() + size_t(t) * ne, members), t});
  }
  count = std::min<int64_t>(count, T);
  std::partial_sort(by_lse.begin(), by_lse.begin() + count, by_lse.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<int> all(static_cast<size_t>(ne));
  std::iota(all.begin(), all.end(), 0);
  GroupTokens g;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t t = by_lse[size_t(i)].second;
    const float* l = cal.logits.data() + size_t(t) * ne;
    const float lse_all = MembersLogSumExp(l, all);
    std::vector<std::pair<int, float>> chosen;
    for (size_t m = 0; m < members.size(); ++m) {
      chosen.push_back({int(m), std::exp(l[members[m]] - lse_all)});
    }
    g.tokens.push_back(t);
    g.by.push_back(std::move(chosen));
  }
  return g;
}

Result<ProxyExpert> FitProxy(const MoeWeights& w, const StandInCalibration::Layer& cal, int64_t T,
                             int k, int ne, const std::vector<int>& members,
                             const StandInOptions& o, int layer) {
  std::vector<DenseExpert> dense;
  for (int e : members) dense.push_back(Decode(w.experts[e]));
  const int64_t H = dense[0].hidden, I = dense[0].width;
  GroupTokens gt = TokensOf(cal, T, k, members);
  if (gt.tokens.empty()) gt = NearestTokensOf(cal, T, ne, members, std::max<int64_t>(16, T / 64));
  if (gt.tokens.empty()) {
    return Status::FailedPrecondition(
        "layer {}: no calibration tokens to fit the proxy of experts {} to", layer,
        fmt::join(members, ","));
  }

  ProxyExpert proxy;
  if (o.kind == StandInKind::kProxyAverage) {
    // Gate mass of each member over every token (softmax of the logits).
    std::vector<double> mass(members.size(), 0.0);
    std::vector<double> p(static_cast<size_t>(ne));
    for (int64_t t = 0; t < T; ++t) {
      const float* l = cal.logits.data() + size_t(t) * ne;
      const double mx = *std::max_element(l, l + ne);
      double z = 0;
      for (int e = 0; e < ne; ++e) z += (p[size_t(e)] = std::exp(double(l[e]) - mx));
      for (size_t i = 0; i < members.size(); ++i) mass[i] += p[size_t(members[i])] / z;
    }
    const double total = std::accumulate(mass.begin(), mass.end(), 0.0);
    std::vector<float> gate(size_t(I * H)), up(size_t(I * H)), down(size_t(H * I));
    for (size_t i = 0; i < members.size(); ++i) {
      const float a = float(mass[i] / total);
      for (size_t v = 0; v < gate.size(); ++v) {
        gate[v] += a * dense[i].gate[v];
        up[v] += a * dense[i].up[v];
        down[v] += a * dense[i].down[v];
      }
    }
    proxy = MakeProxy(members, std::move(gate), std::move(up), std::move(down), H, I);
  } else {
    // 1. Importance of every member unit on the tokens that chose that member.
    std::vector<double> importance(members.size() * size_t(I), 0.0);
    std::vector<float> h(static_cast<size_t>(I));
    for (size_t i = 0; i < gt.tokens.size(); ++i) {
      const float* x = cal.x.data() + size_t(gt.tokens[i]) * H;
      for (auto [m, weight] : gt.by[i]) {
        Hidden(dense[m].gate.data(), dense[m].up.data(), H, x, h.data(), I);
        for (int64_t j = 0; j < I; ++j) importance[m * I + j] += double(weight) * std::fabs(h[j]);
      }
    }
    for (size_t m = 0; m < members.size(); ++m) {
      for (int64_t j = 0; j < I; ++j) {
        double norm = 0;
        for (int64_t d = 0; d < H; ++d) {
          const double v = dense[m].down[size_t(d * I + j)];
          norm += v * v;
        }
        importance[m * I + j] *= std::sqrt(norm);
      }
    }
    std::vector<int64_t> order(importance.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return importance[a] > importance[b]; });
    order.resize(static_cast<size_t>(I));
    std::vector<float> gate(size_t(I * H)), up(size_t(I * H));
    for (int64_t u = 0; u < I; ++u) {
      const int64_t m = order[u] / I, j = order[u] % I;
      std::copy_n(dense[m].gate.data() + j * H, H, gate.data() + u * H);
      std::copy_n(dense[m].up.data() + j * H, H, up.data() + u * H);
    }
    // 2. Down projection: ridge fit of the members' mixed output from the chosen units.
    RidgeSystem sys(I, H);
    std::vector<float> y(static_cast<size_t>(H)), ye(static_cast<size_t>(H)),
        he(static_cast<size_t>(I));
    for (size_t i = 0; i < gt.tokens.size(); ++i) {
      const float* x = cal.x.data() + size_t(gt.tokens[i]) * H;
      std::fill(y.begin(), y.end(), 0.0f);
      double s = 0;
      for (auto [m, weight] : gt.by[i]) {
        Hidden(dense[m].gate.data(), dense[m].up.data(), H, x, he.data(), I);
        Down(dense[m].down.data(), H, I, he.data(), ye.data());
        for (int64_t d = 0; d < H; ++d) y[d] += weight * ye[d];
        s += weight;
      }
      for (float& v : y) v = float(v / s);
      Hidden(gate.data(), up.data(), H, x, h.data(), I);
      sys.Add(h.data(), y.data(), s);
    }
    ASSIGN_OR_RETURN(std::vector<float> down, sys.Solve(o.ridge));
    proxy = MakeProxy(members, std::move(gate), std::move(up), std::move(down), H, I);
  }

  // Router row: ridge fit of the members' log-sum-exp logit over every token.
  RidgeSystem router(H, 1);
  for (int64_t t = 0; t < T; ++t) {
    const float lse = MembersLogSumExp(cal.logits.data() + size_t(t) * ne, members);
    router.Add(cal.x.data() + size_t(t) * H, &lse, 1.0);
  }
  ASSIGN_OR_RETURN(proxy.router_row, router.Solve(o.ridge));
  return proxy;
}

}  // namespace

const char* StandInKindName(StandInKind kind) {
  switch (kind) {
    case StandInKind::kConstant: return "constant";
    case StandInKind::kProxyAverage: return "proxy-average";
    case StandInKind::kProxyFit: return "proxy-fit";
  }
  return "?";
}

Result<StandInKind> ParseStandInKindName(const std::string& name) {
  for (StandInKind k :
       {StandInKind::kConstant, StandInKind::kProxyAverage, StandInKind::kProxyFit}) {
    if (name == StandInKindName(k)) return k;
  }
  return Status::InvalidArgument(
      "stand-in kind \"{}\": expected constant, proxy-average or proxy-fit", name);
}

Result<StandInCalibration> RecordStandInCalibration(
    const Model& full, const std::vector<std::vector<int32_t>>& prompts) {
  StandInCalibration out;
  CalibrationRecorder recorder(out);
  for (const auto& p : prompts) {
    Sequence seq(full);
    ForwardOptions fo{.observer = &recorder, .activations = &recorder, .all_logits = false};
    RETURN_IF_ERROR(Forward(full, seq, p, fo, nullptr));
    out.tokens += int64_t(p.size());
  }
  return out;
}

Result<FittedStandIns> FitStandIns(const Model& full, const ExpertPlan& plan,
                                   const StandInCalibration& cal, const StandInOptions& o) {
  const ModelConfig& c = full.config();
  if (c.routing.scoring != ScoringFunc::kSoftmax || c.routing.n_group > 1) {
    return Status::InvalidArgument(
        "stand-ins need a softmax router without grouped top-k (Qwen, Mixtral, OLMoE); this "
        "model's router is not one");
  }
  const int ne = c.routing.num_experts, k = c.routing.top_k;
  const int64_t H = c.hidden_size, T = cal.tokens;
  FittedStandIns f;
  f.options = o;
  for (const auto& [layer, lp] : plan.layers) {
    auto it = cal.layers.find(layer);
    if (it == cal.layers.end() || int64_t(it->second.x.size()) != T * H) {
      return Status::FailedPrecondition("layer {}: the calibration record has no routing for it",
                                        layer);
    }
    const StandInCalibration::Layer& l = it->second;
    const MoeWeights& w = full.weights().layers[layer].moe;
    if (!w.experts.empty() && w.experts[0].gate.in_major) {
      return Status::InvalidArgument("stand-ins do not support packed (in-major) experts");
    }
    if (o.kind == StandInKind::kConstant) {
      std::vector<std::vector<double>> sum(size_t(ne), std::vector<double>(size_t(H), 0.0));
      std::vector<double> norm(size_t(ne), 0.0);
      std::vector<DenseExpert> dense;
      for (int e = 0; e < ne; ++e) dense.push_back(Decode(w.experts[e]));
      const int64_t I = dense[0].width;
      std::vector<float> h(static_cast<size_t>(I)), y(static_cast<size_t>(H));
      for (int64_t t = 0; t < T; ++t) {
        const float* x = l.x.data() + size_t(t * H);
        for (int j = 0; j < k; ++j) {
          const int e = l.experts[size_t(t * k + j)];
          const double w2 = double(l.weights[size_t(t * k + j)]) * l.weights[size_t(t * k + j)];
          Hidden(dense[e].gate.data(), dense[e].up.data(), H, x, h.data(), I);
          Down(dense[e].down.data(), H, I, h.data(), y.data());
          for (int64_t d = 0; d < H; ++d) sum[e][d] += w2 * y[d];
          norm[e] += w2;
        }
      }
      for (int e = 0; e < ne; ++e) {
        std::vector<float> mean(size_t(H), 0.0f);
        for (int64_t d = 0; d < H && norm[e] > 0; ++d) mean[d] = float(sum[e][d] / norm[e]);
        f.constants[layer][e] = std::move(mean);
      }
      continue;
    }
    for (const auto& group : lp.groups) {
      for (const std::vector<int>& members :
           ClusterByRouterLogits(group, l.logits.data(), T, ne, o.proxies_per_group)) {
        ASSIGN_OR_RETURN(ProxyExpert p, FitProxy(w, l, T, k, ne, members, o, layer));
        f.proxies[layer].push_back(std::move(p));
      }
    }
  }
  return f;
}

std::shared_ptr<const ExpertStandIns> NodeStandIns(const FittedStandIns& f, const ExpertPlan& plan,
                                                   int node) {
  auto out = std::make_shared<ExpertStandIns>();
  for (const auto& [layer, lp] : plan.layers) {
    LayerStandIns& ls = out->layers[layer];
    ls.exact_logit = f.options.exact_logit;
    if (f.options.kind == StandInKind::kConstant) {
      const std::vector<int> held = plan.NodeExperts(layer, node);
      for (const auto& [e, c] : f.constants.at(layer)) {
        if (!std::binary_search(held.begin(), held.end(), e)) ls.constants[e] = c;
      }
      continue;
    }
    for (const ProxyExpert& p : f.proxies.at(layer)) {
      if (!plan.HoldsNone(layer, node, p.members)) continue;
      ls.proxies.push_back(p);
      ls.proxies.back().expert.Bind(p.expert.mlp.gate.in, p.expert.mlp.gate.out);
    }
  }
  return out;
}

}  // namespace moedist
