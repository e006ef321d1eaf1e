#include "pipeline/profile_accumulator.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace moedist {

ProfileAccumulator::ProfileAccumulator(GateProfile* profile, const std::set<int>& layers)
    : profile_(profile) {
  const int E = profile->num_experts;
  int max_layer = layers.empty() ? 0 : *layers.rbegin();
  layer_slot_.assign(max_layer + 1, -1);
  for (int l : layers) {
    LayerGateProfile lp;
    lp.layer = l;
    lp.selection_count.assign(E, 0);
    lp.gate_mass.assign(E, 0.0);
    lp.routed_weight.assign(E, 0.0);
    lp.coactivation.assign(static_cast<size_t>(E) * E, 0);
    layer_slot_[l] = static_cast<int>(profile->layers.size());
    profile->layers.push_back(std::move(lp));
  }
  scratch_.resize(E);
  order_.resize(E);
}

LayerGateProfile* ProfileAccumulator::Layer(int layer) {
  if (layer < 0 || layer >= static_cast<int>(layer_slot_.size()) || layer_slot_[layer] < 0) {
    return nullptr;
  }
  return &profile_->layers[layer_slot_[layer]];
}

void ProfileAccumulator::BeginPrompt(const std::string& id, const std::string& domain,
                                     uint32_t tokens) {
  GateProfile& p = *profile_;
  prompt_first_token_ = p.token_prompt.size();
  first_token_.push_back(prompt_first_token_);
  prompt_ = p.prompts.size();
  const uint32_t index = static_cast<uint32_t>(p.prompts.size());
  p.prompts.push_back({id, domain, tokens});
  p.token_prompt.insert(p.token_prompt.end(), tokens, index);
  p.tokens += tokens;
  const size_t E = p.num_experts, m = p.topm;
  for (LayerGateProfile& l : p.layers) {
    l.prompt_mass.resize(l.prompt_mass.size() + E, 0.0f);
    l.topm_experts.resize(p.token_prompt.size() * m, 0);
    l.topm_probs.resize(p.token_prompt.size() * m, 0.0f);
    if (!l.domain_mass.count(domain)) l.domain_mass[domain].assign(E, 0.0);
  }
}

void ProfileAccumulator::SelectPrompt(size_t index) {
  prompt_ = index;
  prompt_first_token_ = first_token_[index];
}

void ProfileAccumulator::OnRouting(const RoutingBatch& b) {
  LayerGateProfile* l = Layer(b.layer);
  if (l == nullptr || profile_->prompts.empty()) return;
  const int E = b.num_experts, k = b.top_k, m = profile_->topm;
  const size_t prompt = prompt_;
  std::vector<double>& domain = l->domain_mass[profile_->prompts[prompt].domain];
  float* prompt_mass = l->prompt_mass.data() + prompt * E;
  for (int t = 0; t < b.num_tokens; ++t) {
    const float* s = b.probs + static_cast<size_t>(t) * E;
    double sum = 0;
    bool finite = true;
    for (int e = 0; e < E; ++e) {
      finite &= std::isfinite(s[e]);
      sum += s[e];
    }
    const uint64_t row = prompt_first_token_ + b.first_position + t;
    if (!finite || !(sum > 0)) {
      if (first_nonfinite_.empty()) {
        first_nonfinite_ = fmt::format("layer {} token {} of prompt \"{}\"", b.layer,
                                       b.first_position + t, profile_->prompts[prompt].id);
      }
      ++l->nonfinite_tokens;
      continue;
    }
    for (int e = 0; e < E; ++e) {
      scratch_[e] = static_cast<float>(s[e] / sum);
      l->gate_mass[e] += scratch_[e];
      domain[e] += scratch_[e];
      prompt_mass[e] += scratch_[e];
    }
    // Top-m experts of this token by normalised probability.
    std::iota(order_.begin(), order_.end(), 0);
    std::partial_sort(order_.begin(), order_.begin() + m, order_.end(), [&](int a, int c) {
      return scratch_[a] > scratch_[c] || (scratch_[a] == scratch_[c] && a < c);
    });
    for (int i = 0; i < m; ++i) {
      l->topm_experts[row * m + i] = static_cast<uint16_t>(order_[i]);
      l->topm_probs[row * m + i] = scratch_[order_[i]];
    }
    const int32_t* chosen = b.experts + static_cast<size_t>(t) * k;
    const float* weights = b.weights + static_cast<size_t>(t) * k;
    for (int i = 0; i < k; ++i) {
      l->selection_count[chosen[i]] += 1;
      l->routed_weight[chosen[i]] += weights[i];
      for (int j = i + 1; j < k; ++j) {
        l->coactivation[static_cast<size_t>(chosen[i]) * E + chosen[j]] += 1;
        l->coactivation[static_cast<size_t>(chosen[j]) * E + chosen[i]] += 1;
      }
    }
  }
}

}  // namespace moedist
