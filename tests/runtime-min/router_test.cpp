// Router semantics on hand-made logits, per scoring function, with and without a mask.
#include <cmath>

#include <gtest/gtest.h>

#include "runtime-min/router.h"

namespace moedist {
namespace {

RoutingResult Route(const RoutingConfig& rc, std::vector<float> logits, int n,
                    const std::vector<uint8_t>& allowed = {}, const float* bias = nullptr) {
  RoutingResult r;
  r.num_tokens = n;
  r.num_experts = static_cast<int>(logits.size()) / n;
  r.top_k = rc.top_k;
  r.logits = std::move(logits);
  RouteTokens(rc, bias, allowed.empty() ? nullptr : allowed.data(), r);
  return r;
}

TEST(RouterTest, SoftmaxMaskedRenormalisesOverAllowed) {
  RoutingConfig rc;
  rc.top_k = 2;
  rc.num_experts = 4;
  rc.scoring = ScoringFunc::kSoftmax;
  // Unmasked: top-2 = {3, 2}. Masked to {0, 1, 2}: softmax over three, top-2 = {2, 1}.
  const std::vector<float> logits = {0.0f, 1.0f, 2.0f, 3.0f};
  RoutingResult r = Route(rc, logits, 1, {1, 1, 1, 0});
  EXPECT_EQ(r.experts, (std::vector<int32_t>{2, 1}));
  const double z = 1 + std::exp(1.0) + std::exp(2.0);
  EXPECT_NEAR(r.weights[0], std::exp(2.0) / z, 1e-6);
  EXPECT_NEAR(r.weights[1], std::exp(1.0) / z, 1e-6);
  // The observer's probabilities stay unmasked.
  const double zu = z + std::exp(3.0);
  EXPECT_NEAR(r.probs[3], std::exp(3.0) / zu, 1e-6);
  rc.norm_topk_prob = true;
  r = Route(rc, logits, 1, {1, 1, 1, 0});
  EXPECT_NEAR(r.weights[0] + r.weights[1], 1.0, 1e-6);
}

TEST(RouterTest, DeepseekSigmoidGroupsBiasAndScaling) {
  RoutingConfig rc;
  rc.top_k = 2;
  rc.num_experts = 8;
  rc.scoring = ScoringFunc::kSigmoid;
  rc.n_group = 4;
  rc.topk_group = 1;
  rc.norm_topk_prob = true;
  rc.routed_scaling_factor = 2.5;
  rc.topk_method = "noaux_tc";
  // Groups {0,1} {2,3} {4,5} {6,7}. The bias lifts group {4,5} to the best top-2 sum.
  const std::vector<float> logits = {3, -3, 1, 1, 0.5f, 0.5f, -2, -2};
  const std::vector<float> bias = {0, 0, 0, 0, 1, 1, 0, 0};
  RoutingResult r = Route(rc, logits, 1, {}, bias.data());
  EXPECT_EQ(r.experts, (std::vector<int32_t>{4, 5}));
  // Weights come from the unbiased sigmoid: equal here, normalised then scaled.
  EXPECT_NEAR(r.weights[0], 1.25, 1e-6);
  EXPECT_NEAR(r.weights[1], 1.25, 1e-6);
  // Masking expert 5 sends the group score of {4,5} to -inf: group {2,3} wins.
  r = Route(rc, logits, 1, {1, 1, 1, 1, 1, 0, 1, 1}, bias.data());
  EXPECT_EQ(r.experts, (std::vector<int32_t>{2, 3}));
}

TEST(RouterTest, Llama4SigmoidOfChosenLogits) {
  RoutingConfig rc;
  rc.top_k = 1;
  rc.num_experts = 3;
  rc.scoring = ScoringFunc::kSigmoidTopk;
  RoutingResult r = Route(rc, {0.5f, 2.0f, 1.0f}, 1, {1, 0, 1});
  EXPECT_EQ(r.experts, (std::vector<int32_t>{2}));
  EXPECT_NEAR(r.weights[0], 1 / (1 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(r.probs[1], 1 / (1 + std::exp(-2.0)), 1e-6);
}

TEST(RouterTest, TiesGoToLowerIndex) {
  RoutingConfig rc;
  rc.top_k = 2;
  rc.num_experts = 4;
  rc.scoring = ScoringFunc::kSoftmax;
  RoutingResult r = Route(rc, {1, 1, 1, 1}, 1);
  EXPECT_EQ(r.experts, (std::vector<int32_t>{0, 1}));
}

}  // namespace
}  // namespace moedist
