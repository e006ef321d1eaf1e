#include "runtime-min/router.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "runtime-min/kernels.h"

namespace moedist {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Indices of the k largest scores, largest first, ties to the lower index; NaN ranks lowest.
void TopK(const float* score, int n, int k, int32_t* out) {
  auto key = [&](int i) { return std::isnan(score[i]) ? kNegInf : score[i]; };
  std::vector<int> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
    return key(a) > key(b) || (key(a) == key(b) && a < b);
  });
  std::copy(idx.begin(), idx.begin() + k, out);
}

// Keeps the topk_group best groups of `sel` (by `group_score`) and sets every other expert's
// selection score to `fill` (masked experts stay -inf so they are never chosen).
void LimitToGroups(const RoutingConfig& rc, int num_experts, const uint8_t* allowed, bool top2_sum,
                   float fill, float* sel) {
  const int per = num_experts / rc.n_group;
  std::vector<float> gscore(rc.n_group);
  for (int g = 0; g < rc.n_group; ++g) {
    const float* s = sel + g * per;
    if (top2_sum) {  // HF noaux_tc: sum of the group's two best scores
      float a = kNegInf, b = kNegInf;
      for (int j = 0; j < per; ++j) {
        if (s[j] > a) {
          b = a;
          a = s[j];
        } else if (s[j] > b) {
          b = s[j];
        }
      }
      gscore[g] = per >= 2 ? a + b : a;
    } else {  // group_limited_greedy: the group's best score
      gscore[g] = *std::max_element(s, s + per);
    }
  }
  std::vector<int32_t> keep(rc.topk_group);
  TopK(gscore.data(), rc.n_group, rc.topk_group, keep.data());
  std::vector<uint8_t> kept(rc.n_group, 0);
  for (int32_t g : keep) kept[g] = 1;
  for (int e = 0; e < num_experts; ++e) {
    if (!kept[e / per] && (!allowed || allowed[e])) sel[e] = fill;
  }
}

void Normalise(const RoutingConfig& rc, float* w, int k) {
  if (rc.norm_topk_prob) {
    float sum = 0;
    for (int j = 0; j < k; ++j) sum += w[j];
    sum += 1e-20f;  // DeepSeek's guard; below f32 resolution for any real sum
    for (int j = 0; j < k; ++j) w[j] /= sum;
  }
  const float scale = static_cast<float>(rc.routed_scaling_factor);
  if (scale != 1.0f) {
    for (int j = 0; j < k; ++j) w[j] *= scale;
  }
}

}  // namespace

void RouteTokens(const RoutingConfig& rc, const float* score_bias, const uint8_t* allowed,
                 RoutingResult& r) {
  const int n = r.num_tokens, ne = r.num_experts, k = r.top_k;
  r.probs.resize(size_t(n) * ne);
  r.experts.resize(size_t(n) * k);
  r.weights.resize(size_t(n) * k);
  std::vector<float> sel(ne), p(ne);
  for (int t = 0; t < n; ++t) {
    const float* logit = r.logits.data() + size_t(t) * ne;
    float* probs = r.probs.data() + size_t(t) * ne;
    int32_t* chosen = r.experts.data() + size_t(t) * k;
    float* w = r.weights.data() + size_t(t) * k;
    const bool sigmoid = rc.scoring == ScoringFunc::kSigmoid ||
                         rc.scoring == ScoringFunc::kSigmoidTopk;
    // Unmasked scores for the observer.
    if (sigmoid) {
      for (int e = 0; e < ne; ++e) probs[e] = Sigmoid(logit[e]);
    } else {
      std::copy(logit, logit + ne, probs);
      SoftmaxInPlace(probs, ne);
    }
    switch (rc.scoring) {
      case ScoringFunc::kSoftmax: {
        for (int e = 0; e < ne; ++e) p[e] = (!allowed || allowed[e]) ? logit[e] : kNegInf;
        SoftmaxInPlace(p.data(), ne);
        for (int e = 0; e < ne; ++e) sel[e] = (!allowed || allowed[e]) ? p[e] : kNegInf;
        if (rc.topk_method == "group_limited_greedy" && rc.n_group > 1) {
          LimitToGroups(rc, ne, allowed, /*top2_sum=*/false, 0.0f, sel.data());
        }
        TopK(sel.data(), ne, k, chosen);
        for (int j = 0; j < k; ++j) w[j] = p[chosen[j]];
        Normalise(rc, w, k);
        break;
      }
      case ScoringFunc::kSigmoid: {
        for (int e = 0; e < ne; ++e) {
          sel[e] = (!allowed || allowed[e]) ? probs[e] + (score_bias ? score_bias[e] : 0.0f)
                                            : kNegInf;
        }
        if (rc.n_group > 1) {
          LimitToGroups(rc, ne, allowed, rc.topk_method != "group_limited_greedy", 0.0f,
                        sel.data());
        }
        TopK(sel.data(), ne, k, chosen);
        for (int j = 0; j < k; ++j) w[j] = probs[chosen[j]];
        Normalise(rc, w, k);
        break;
      }
      case ScoringFunc::kSigmoidTopk:
      case ScoringFunc::kSoftmaxTopk: {
        for (int e = 0; e < ne; ++e) sel[e] = (!allowed || allowed[e]) ? logit[e] : kNegInf;
        TopK(sel.data(), ne, k, chosen);
        if (rc.scoring == ScoringFunc::kSigmoidTopk) {
          for (int j = 0; j < k; ++j) w[j] = Sigmoid(logit[chosen[j]]);
        } else {
          for (int j = 0; j < k; ++j) w[j] = logit[chosen[j]];
          SoftmaxInPlace(w, k);
        }
        break;
      }
    }
  }
}

}  // namespace moedist
