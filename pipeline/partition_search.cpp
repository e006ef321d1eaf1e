#include "pipeline/partition_search.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <numeric>

#include "pipeline/captured_mass.h"

namespace moedist {
namespace {

std::vector<int> NonOverlay(int E, const std::map<int, std::vector<int>>& overlay, int layer) {
  std::vector<bool> in(E, false);
  auto it = overlay.find(layer);
  if (it != overlay.end()) {
    for (int e : it->second) in[e] = true;
  }
  std::vector<int> rest;
  for (int e = 0; e < E; ++e) {
    if (!in[e]) rest.push_back(e);
  }
  return rest;
}

std::vector<int> GroupSizes(int n, int groups) {
  std::vector<int> sizes(groups, n / groups);
  for (int g = 0; g < n % groups; ++g) sizes[g] += 1;
  return sizes;
}

// Builds a plan by cutting each layer's ordered non-overlay experts with `deal`, which maps
// (position in order, count) -> group.
template <typename Order, typename Deal>
ExpertPlan BuildPlan(const GateProfile& p, int groups,
                     const std::map<int, std::vector<int>>& overlay, const char* name, Order order,
                     Deal deal) {
  ExpertPlan plan;
  plan.num_experts = p.num_experts;
  plan.top_k = p.top_k;
  plan.num_groups = groups;
  plan.strategy = name;
  for (int layer : p.moe_layers) {
    LayerPlan lp;
    lp.profiled = p.FindLayer(layer) != nullptr;
    auto oit = overlay.find(layer);
    if (oit != overlay.end()) lp.overlay = oit->second;
    std::vector<int> rest = NonOverlay(p.num_experts, overlay, layer);
    if (lp.profiled) order(*p.FindLayer(layer), rest);
    lp.groups.assign(groups, {});
    const int n = static_cast<int>(rest.size());
    for (int i = 0; i < n; ++i)
      lp.groups[lp.profiled ? deal(i, n) : i * groups / n].push_back(rest[i]);
    for (auto& g : lp.groups) std::sort(g.begin(), g.end());
    plan.layers[layer] = std::move(lp);
  }
  return plan;
}

void KeepIdOrder(const LayerGateProfile&, std::vector<int>&) {}

uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Per profiled layer, each prompt's routing distribution W[q][e] (mass / tokens).
struct PromptMass {
  std::vector<int> layers;             // profiled MoE layers
  std::vector<std::vector<double>> w;  // [layer slot][q * E + e]
  std::vector<int> prompts;            // prompts with tokens
};

PromptMass LoadPromptMass(const GateProfile& p) {
  PromptMass pm;
  const int E = p.num_experts;
  for (size_t q = 0; q < p.prompts.size(); ++q) {
    if (p.prompts[q].tokens > 0) pm.prompts.push_back(static_cast<int>(q));
  }
  for (const LayerGateProfile& l : p.layers) {
    if (std::find(p.moe_layers.begin(), p.moe_layers.end(), l.layer) == p.moe_layers.end())
      continue;
    pm.layers.push_back(l.layer);
    std::vector<double> w(p.prompts.size() * E, 0.0);
    for (int q : pm.prompts) {
      for (int e = 0; e < E; ++e) {
        w[static_cast<size_t>(q) * E + e] =
            l.prompt_mass[static_cast<size_t>(q) * E + e] / p.prompts[q].tokens;
      }
    }
    pm.w.push_back(std::move(w));
  }
  return pm;
}

// Balanced assignment of `experts` to groups of `sizes` maximising Σ value[e][g]: greedy by
// regret, then pairwise swaps until no swap gains.
std::vector<std::vector<int>> AssignExperts(const std::vector<int>& experts,
                                            const std::vector<int>& sizes,
                                            const std::vector<std::vector<double>>& value) {
  const int G = static_cast<int>(sizes.size());
  std::vector<int> order(experts.size());
  std::iota(order.begin(), order.end(), 0);
  auto regret = [&](int i) {
    std::vector<double> v = value[i];
    std::sort(v.begin(), v.end(), std::greater<>());
    return G > 1 ? v[0] - v[1] : v[0];
  };
  std::vector<double> r(experts.size());
  for (size_t i = 0; i < experts.size(); ++i) r[i] = regret(static_cast<int>(i));
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return r[a] > r[b]; });
  std::vector<int> left = sizes, group_of(experts.size());
  for (int i : order) {
    int best = -1;
    for (int g = 0; g < G; ++g) {
      if (left[g] > 0 && (best < 0 || value[i][g] > value[i][best])) best = g;
    }
    group_of[i] = best;
    left[best] -= 1;
  }
  for (int pass = 0; pass < 50; ++pass) {
    bool improved = false;
    for (size_t a = 0; a < experts.size(); ++a) {
      for (size_t b = a + 1; b < experts.size(); ++b) {
        const int ga = group_of[a], gb = group_of[b];
        if (ga == gb) continue;
        const double gain = value[a][gb] + value[b][ga] - value[a][ga] - value[b][gb];
        if (gain > 1e-12) {
          std::swap(group_of[a], group_of[b]);
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  std::vector<std::vector<int>> groups(G);
  for (size_t i = 0; i < experts.size(); ++i) groups[group_of[i]].push_back(experts[i]);
  for (auto& g : groups) std::sort(g.begin(), g.end());
  return groups;
}

// [prompt][group] share of the prompt's routing mass held by each group (overlay is on every
// node, so it cancels and is left out).
std::vector<std::vector<double>> PromptGroupMass(const GateProfile& p, const PromptMass& pm,
                                                 const ExpertPlan& plan) {
  const int E = p.num_experts, G = plan.num_groups;
  std::vector<std::vector<double>> v(p.prompts.size(), std::vector<double>(G, 0.0));
  for (int q : pm.prompts) {
    for (size_t s = 0; s < pm.layers.size(); ++s) {
      const LayerPlan& lp = plan.layers.at(pm.layers[s]);
      for (int g = 0; g < G; ++g) {
        for (int e : lp.groups[g]) v[q][g] += pm.w[s][static_cast<size_t>(q) * E + e];
      }
    }
  }
  return v;
}

// Each prompt to the group holding most of its mass; with `capacity` > 0 no group takes more
// than that many prompts: prompts that lose most by a second choice choose first (for two groups
// this is the best balanced split).
std::vector<int> AssignPrompts(const GateProfile& p, const PromptMass& pm, const ExpertPlan& plan,
                               int capacity = 0) {
  auto v = PromptGroupMass(p, pm, plan);
  std::vector<int> assign(p.prompts.size(), -1);
  if (capacity <= 0) {
    for (int q : pm.prompts) {
      assign[q] = static_cast<int>(std::max_element(v[q].begin(), v[q].end()) - v[q].begin());
    }
    return assign;
  }
  std::vector<double> regret(p.prompts.size(), 0.0);
  for (int q : pm.prompts) {
    std::vector<double> r = v[q];
    std::sort(r.begin(), r.end(), std::greater<>());
    regret[q] = r.size() > 1 ? r[0] - r[1] : 0.0;
  }
  std::vector<int> order = pm.prompts;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return regret[a] > regret[b]; });
  std::vector<int> left(plan.num_groups, capacity);
  for (int q : order) {
    int best = -1;
    for (int g = 0; g < plan.num_groups; ++g) {
      if (left[g] > 0 && (best < 0 || v[q][g] > v[q][best])) best = g;
    }
    if (best < 0)
      best = static_cast<int>(std::max_element(v[q].begin(), v[q].end()) - v[q].begin());
    assign[q] = best;
    left[best] -= 1;
  }
  return assign;
}

// A group no prompt chose would be optimised for nothing: move to it the prompt that loses
// least by moving (its mass there minus its mass where it is).
void FillEmptyGroups(const GateProfile& p, const PromptMass& pm, const ExpertPlan& plan,
                     std::vector<int>& assign) {
  const int G = plan.num_groups;
  std::vector<std::vector<double>> v;
  for (int g = 0; g < G; ++g) {
    if (std::count(assign.begin(), assign.end(), g) > 0) continue;
    if (v.empty()) v = PromptGroupMass(p, pm, plan);
    int donor = -1;
    double best = -1e300;
    for (int q : pm.prompts) {
      const int from = assign[q];
      if (std::count(assign.begin(), assign.end(), from) < 2) continue;  // keep donors non-empty
      const double d = v[q][g] - v[q][from];
      if (d > best) {
        best = d;
        donor = q;
      }
    }
    if (donor >= 0) assign[donor] = g;
  }
}

// Given prompt groups, rebuilds every profiled layer's partition.
void AssignAllLayers(const GateProfile& p, const PromptMass& pm, const std::vector<int>& assign,
                     const std::map<int, std::vector<int>>& overlay, ExpertPlan& plan) {
  const int E = p.num_experts, G = plan.num_groups;
  for (size_t s = 0; s < pm.layers.size(); ++s) {
    const int layer = pm.layers[s];
    std::vector<int> rest = NonOverlay(E, overlay, layer);
    std::vector<std::vector<double>> value(rest.size(), std::vector<double>(G, 0.0));
    for (int q : pm.prompts) {
      const int g = assign[q];
      for (size_t i = 0; i < rest.size(); ++i) {
        value[i][g] += pm.w[s][static_cast<size_t>(q) * E + rest[i]];
      }
    }
    plan.layers[layer].groups =
        AssignExperts(rest, GroupSizes(static_cast<int>(rest.size()), G), value);
  }
}

// k-means++ seeding then Lloyd iterations on the prompts' concatenated layer distributions.
std::vector<int> KMeansPrompts(const GateProfile& p, const PromptMass& pm, int G, uint64_t seed) {
  const int E = p.num_experts;
  const size_t L = pm.layers.size(), D = L * E;
  auto feature = [&](int q, size_t d) { return pm.w[d / E][static_cast<size_t>(q) * E + d % E]; };
  auto dist = [&](int q, const std::vector<double>& c) {
    double s = 0;
    for (size_t d = 0; d < D; ++d) s += (feature(q, d) - c[d]) * (feature(q, d) - c[d]);
    return s;
  };
  std::vector<std::vector<double>> centers;
  uint64_t rng = seed;
  auto add_center = [&](int q) {
    std::vector<double> c(D);
    for (size_t d = 0; d < D; ++d) c[d] = feature(q, d);
    centers.push_back(std::move(c));
  };
  add_center(pm.prompts[SplitMix(rng) % pm.prompts.size()]);
  while (static_cast<int>(centers.size()) < G) {
    std::vector<double> d2;
    double total = 0;
    for (int q : pm.prompts) {
      double best = 1e300;
      for (const auto& c : centers) best = std::min(best, dist(q, c));
      d2.push_back(best);
      total += best;
    }
    double pick = total * (static_cast<double>(SplitMix(rng) >> 11) / 9007199254740992.0);
    size_t i = 0;
    for (; i + 1 < d2.size() && pick > d2[i]; ++i) pick -= d2[i];
    add_center(pm.prompts[i]);
  }
  std::vector<int> assign(p.prompts.size(), -1);
  for (int iter = 0; iter < 20; ++iter) {
    bool changed = false;
    for (int q : pm.prompts) {
      int best = 0;
      for (int g = 1; g < G; ++g) {
        if (dist(q, centers[g]) < dist(q, centers[best])) best = g;
      }
      changed |= assign[q] != best;
      assign[q] = best;
    }
    if (!changed) break;
    for (int g = 0; g < G; ++g) {
      std::vector<double> c(D, 0.0);
      int n = 0;
      for (int q : pm.prompts) {
        if (assign[q] != g) continue;
        for (size_t d = 0; d < D; ++d) c[d] += feature(q, d);
        ++n;
      }
      if (n > 0) {
        for (double& x : c) x /= n;
        centers[g] = std::move(c);
      }
    }
  }
  return assign;
}

// A layer's captured-mass term after swapping two experts between groups, from the term before:
// only tokens whose top-m list holds one of the two can change, so only they are recomputed
// (with E experts and m samples per token, about 2m / E of the layer's tokens), against each
// token's capture under the current plan, kept per token and updated when a swap is kept.
class SwapTrial {
 public:
  SwapTrial(const GateProfile& p, const LayerGateProfile& l, const LayerPlan& lp, int G)
      : p_(p),
        l_(l),
        G_(G),
        node_of_(ExpertOwners(lp, p.num_experts, G)),
        tokens_of_(p.num_experts) {
    const int m = p.topm;
    for (size_t t = 0; t < p.token_prompt.size(); ++t) {
      for (int i = 0; i < m; ++i) {
        std::vector<uint32_t>& list = tokens_of_[l.topm_experts[t * m + i]];
        if (list.empty() || list.back() != t) list.push_back(static_cast<uint32_t>(t));
      }
    }
    taken_.resize(G);
    after_.resize(G);
    full_.resize(p.token_prompt.size());
    capture_.resize(p.token_prompt.size() * G);
    for (size_t t = 0; t < p.token_prompt.size(); ++t) Capture(static_cast<uint32_t>(t));
  }

  // `term` with experts a and b (in different groups) swapped, into `out`.
  void Term(int a, int b, const std::vector<double>& term, std::vector<double>* out) {
    merged_.clear();
    std::set_union(tokens_of_[a].begin(), tokens_of_[a].end(), tokens_of_[b].begin(),
                   tokens_of_[b].end(), std::back_inserter(merged_));
    *out = term;
    const int m = p_.topm, k = p_.top_k;
    std::swap(node_of_[a], node_of_[b]);
    for (uint32_t t : merged_) {
      const uint32_t q = p_.token_prompt[t];
      const double full = full_[t];
      if (p_.prompts[q].tokens == 0 || !(full > 0)) continue;
      TokenCapturedMass(l_.topm_experts.data() + size_t(t) * m,
                        l_.topm_probs.data() + size_t(t) * m, m, k, node_of_.data(), G_,
                        taken_.data(), after_.data());
      const double* before = capture_.data() + size_t(t) * G_;
      for (int g = 0; g < G_; ++g) {
        (*out)[size_t(q) * G_ + g] += (after_[g] - before[g]) / full / p_.prompts[q].tokens;
      }
    }
    std::swap(node_of_[a], node_of_[b]);
  }
  void Accept(int a, int b) {
    std::swap(node_of_[a], node_of_[b]);
    merged_.clear();
    std::set_union(tokens_of_[a].begin(), tokens_of_[a].end(), tokens_of_[b].begin(),
                   tokens_of_[b].end(), std::back_inserter(merged_));
    for (uint32_t t : merged_) Capture(t);
  }

 private:
  const GateProfile& p_;
  const LayerGateProfile& l_;
  int G_;
  std::vector<int> node_of_;                      // -1 overlay, -2 none, else the group
  std::vector<std::vector<uint32_t>> tokens_of_;  // expert -> tokens whose top-m holds it
  std::vector<uint32_t> merged_;
  std::vector<int> taken_;
  std::vector<double> after_;
  std::vector<double> full_;     // per token: its full top-k mass
  std::vector<double> capture_;  // per token and group: captured mass under the current plan

  void Capture(uint32_t t) {
    const int m = p_.topm;
    full_[t] = TokenCapturedMass(l_.topm_experts.data() + size_t(t) * m,
                                 l_.topm_probs.data() + size_t(t) * m, m, p_.top_k, node_of_.data(),
                                 G_, taken_.data(), capture_.data() + size_t(t) * G_);
  }
};

// Pairwise expert swaps between groups, layer by layer, each kept when it raises `score` of the
// exact captured mass; only the swapped layer's term is recomputed, and within it only the
// tokens the two experts appear in (SwapTrial); a kept swap's term is recomputed whole, so
// rounding never accumulates. At most `budget` swaps are
// tried in all, shared equally by the layers (each costs one pass over the layer's profiled
// tokens), so a large model gets a partial search of every layer rather than a full search of
// the first few.
template <typename Score>
ExpertPlan ImproveBySwaps(const GateProfile& p, ExpertPlan plan, Score score, int budget) {
  const int G = plan.num_groups;
  const size_t P = p.prompts.size();
  std::vector<const LayerGateProfile*> layers;
  std::vector<std::vector<double>> terms;
  std::vector<SwapTrial> trials;
  for (const LayerGateProfile& l : p.layers) {
    auto it = plan.layers.find(l.layer);
    if (it == plan.layers.end()) continue;
    layers.push_back(&l);
    terms.push_back(LayerCapturedMass(p, l, it->second, G));
    trials.emplace_back(p, l, it->second, G);
  }
  if (layers.empty() || G < 2) return plan;
  std::vector<double> total(P * G, 0.0);
  for (const auto& t : terms) {
    for (size_t i = 0; i < total.size(); ++i) total[i] += t[i];
  }
  std::vector<std::vector<double>> by_prompt(P, std::vector<double>(G));  // reused per trial
  auto evaluate = [&](const std::vector<double>& sums) {
    for (size_t q = 0; q < P; ++q) {
      for (int g = 0; g < G; ++g) by_prompt[q][g] = sums[q * G + g] / layers.size();
    }
    return score(SummariseByPrompt(p, by_prompt, G));
  };
  double current = evaluate(total);
  std::vector<double> trial(total.size()), term;
  std::vector<int> left(layers.size(), std::max<int>(1, budget / static_cast<int>(layers.size())));
  for (bool improved = true; improved;) {
    improved = false;
    for (size_t li = 0; li < layers.size(); ++li) {
      LayerPlan& lp = plan.layers.at(layers[li]->layer);
      int& layer_budget = left[li];
      for (int gi = 0; gi < G; ++gi) {
        for (int gj = gi + 1; gj < G; ++gj) {
          for (int& a : lp.groups[gi]) {
            for (int& b : lp.groups[gj]) {
              if (layer_budget-- <= 0) break;
              trials[li].Term(a, b, terms[li], &term);
              for (size_t i = 0; i < total.size(); ++i)
                trial[i] = total[i] - terms[li][i] + term[i];
              const double value = evaluate(trial);
              if (value > current + 1e-9) {
                trials[li].Accept(a, b);
                std::swap(a, b);
                std::vector<double> exact = LayerCapturedMass(p, *layers[li], lp, G);
                for (size_t i = 0; i < total.size(); ++i)
                  total[i] = total[i] - terms[li][i] + exact[i];
                terms[li] = std::move(exact);
                current = evaluate(total);
                improved = true;
              }
            }
          }
        }
      }
    }
  }
  for (auto& [layer, lp] : plan.layers) {
    for (auto& g : lp.groups) std::sort(g.begin(), g.end());
  }
  return plan;
}

}  // namespace

ExpertPlan ContiguousPlan(const GateProfile& p, int groups,
                          const std::map<int, std::vector<int>>& overlay) {
  return BuildPlan(p, groups, overlay, "contiguous", KeepIdOrder, [groups](int i, int n) {
    return static_cast<int>(static_cast<int64_t>(i) * groups / n);
  });
}

ExpertPlan ModuloPlan(const GateProfile& p, int groups,
                      const std::map<int, std::vector<int>>& overlay) {
  return BuildPlan(p, groups, overlay, "modulo", KeepIdOrder,
                   [groups](int i, int) { return i % groups; });
}

ExpertPlan SnakePlan(const GateProfile& p, int groups,
                     const std::map<int, std::vector<int>>& overlay) {
  auto by_mass = [](const LayerGateProfile& l, std::vector<int>& rest) {
    std::stable_sort(rest.begin(), rest.end(),
                     [&](int a, int b) { return l.gate_mass[a] > l.gate_mass[b]; });
  };
  return BuildPlan(p, groups, overlay, "snake", by_mass, [groups](int i, int) {
    const int round = i / groups, pos = i % groups;
    return round % 2 == 0 ? pos : groups - 1 - pos;
  });
}

ExpertPlan PlacementPlan(const GateProfile& p, int groups,
                         const std::map<int, std::vector<int>>& overlay,
                         const PlacementOptions& options) {
  ExpertPlan base = ContiguousPlan(p, groups, overlay);
  base.strategy = "placement";
  const PromptMass pm = LoadPromptMass(p);
  if (pm.prompts.empty() || pm.layers.empty() || groups == 1) return base;

  std::vector<std::vector<int>> starts;
  starts.push_back(AssignPrompts(p, pm, SnakePlan(p, groups, overlay)));
  starts.push_back(AssignPrompts(p, pm, base));
  for (int r = 0; r < options.restarts; ++r) {
    starts.push_back(KMeansPrompts(p, pm, groups, options.seed + 7919 * r));
  }
  const int P = static_cast<int>(pm.prompts.size());
  std::vector<int> capacities = {0};
  if (options.balance >= 0) {
    capacities.push_back(
        std::max(1, static_cast<int>(std::ceil((1.0 + options.balance) * P / groups - 1e-9))));
  }
  std::vector<ExpertPlan> candidates;
  for (int capacity : capacities) {
    for (std::vector<int> assign : starts) {
      ExpertPlan plan = base;
      for (int iter = 0; iter < options.max_iterations; ++iter) {
        FillEmptyGroups(p, pm, plan, assign);
        AssignAllLayers(p, pm, assign, overlay, plan);
        std::vector<int> next = AssignPrompts(p, pm, plan, capacity);
        if (next == assign) break;
        assign = std::move(next);
      }
      candidates.push_back(std::move(plan));
    }
  }
  const double w = options.worst_node_weight;
  auto score = [w](const CaptureSummary& s) { return (1 - w) * s.mean + w * s.worst_group_all; };
  // Each candidate is scored once (a full captured-mass pass over the profiled tokens).
  std::vector<double> scores;
  for (const ExpertPlan& c : candidates) scores.push_back(score(SummariseCapture(p, c)));
  auto best_of = [&](size_t end) {  // first index with the highest score below `end`
    size_t best = 0;
    for (size_t i = 1; i < end; ++i) {
      if (scores[i] > scores[best] + 1e-12) best = i;
    }
    return best;
  };
  // The searches optimise placed sessions only. Swaps then optimise the score itself, from the
  // best search result and from the baselines, which are candidates too: the plan kept scores
  // at least as well as contiguous, modulo and snake on the calibration prompts.
  std::vector<ExpertPlan> seeds = {candidates[best_of(candidates.size())], base,
                                   ModuloPlan(p, groups, overlay), SnakePlan(p, groups, overlay)};
  for (ExpertPlan& seed : seeds) {
    seed.strategy = "placement";
    candidates.push_back(seed);
    scores.push_back(score(SummariseCapture(p, seed)));
    if (options.swap_budget > 0) {
      candidates.push_back(ImproveBySwaps(p, std::move(seed), score, options.swap_budget));
      scores.push_back(score(SummariseCapture(p, candidates.back())));
    }
  }
  return std::move(candidates[best_of(candidates.size())]);
}

}  // namespace moedist
