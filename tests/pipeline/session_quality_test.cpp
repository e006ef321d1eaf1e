// SummariseSessions: worst node, placed and oracle Δ from per-prompt scores, token-weighted.
#include "pipeline/session_quality.h"

#include <gtest/gtest.h>

namespace moedist {
namespace {

TEST(SessionQuality, WorstPlacedOracleAreTokenWeighted) {
  // Two prompts of 1 and 3 tokens; two nodes; the full model scores -1 on both.
  const std::vector<double> weights = {1, 3};
  const std::vector<double> full = {-1, -1};
  const std::vector<std::vector<double>> nodes = {{-1.5, -1.1}, {-1.2, -2.0}};
  auto q = SummariseSessions(weights, full, nodes, {1, 0});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  // node 0: (1·-0.5 + 3·-0.1)/4 = -0.2; node 1: (1·-0.2 + 3·-1.0)/4 = -0.8
  EXPECT_NEAR(q->node_delta[0], -0.2, 1e-12);
  EXPECT_NEAR(q->node_delta[1], -0.8, 1e-12);
  EXPECT_NEAR(q->worst_node, -0.8, 1e-12);
  EXPECT_EQ(q->worst_node_index, 1);
  // placed: prompt 0 on node 1 (-0.2), prompt 1 on node 0 (-0.1) → (-0.2 - 0.3)/4
  EXPECT_NEAR(q->placed, -0.125, 1e-12);
  // oracle picks the same nodes here
  EXPECT_NEAR(q->oracle, -0.125, 1e-12);
  EXPECT_EQ(q->prompts_per_node, (std::vector<int>{1, 1}));
  EXPECT_DOUBLE_EQ(q->placed_best_share, 1.0);
}

TEST(SessionQuality, MisplacedPromptsCostAgainstTheOracle) {
  const std::vector<std::vector<double>> nodes = {{-1.5, -1.1}, {-1.2, -2.0}};
  auto q = SummariseSessions({1, 1}, {-1, -1}, nodes, {0, 1});  // both on their worse node
  ASSERT_TRUE(q.ok());
  EXPECT_NEAR(q->placed, (-0.5 - 1.0) / 2, 1e-12);
  EXPECT_NEAR(q->oracle, (-0.2 - 0.1) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(q->placed_best_share, 0.0);
  EXPECT_LT(q->placed, q->oracle);
}

TEST(SessionQuality, EmptyPlacementMeansNodeZero) {
  auto q = SummariseSessions({2}, {-1}, {{-1.25}}, {});
  ASSERT_TRUE(q.ok());
  EXPECT_NEAR(q->worst_node, -0.25, 1e-12);
  EXPECT_NEAR(q->placed, -0.25, 1e-12);
  EXPECT_NEAR(q->oracle, -0.25, 1e-12);
}

TEST(SessionQuality, RefusesMismatchedInputs) {
  EXPECT_FALSE(SummariseSessions({1, 1}, {-1}, {{-1, -1}}, {}).ok());
  EXPECT_FALSE(SummariseSessions({1}, {-1}, {{-1, -1}}, {}).ok());
  EXPECT_FALSE(SummariseSessions({1}, {-1}, {{-1}}, {3}).ok());
  EXPECT_FALSE(SummariseSessions({0}, {-1}, {{-1}}, {}).ok());
  EXPECT_FALSE(SummariseSessions({1}, {-1}, {}, {}).ok());
}

}  // namespace
}  // namespace moedist
