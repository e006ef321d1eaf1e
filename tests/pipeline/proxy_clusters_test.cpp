// ClusterByRouterLogits on planted logits: experts whose logits move together across tokens end
// up in one cluster, clusters stay about equal, and the edge cases (one cluster, more clusters
// than experts) hold.
#include "pipeline/proxy_clusters.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

namespace moedist {
namespace {

// Logits for `num_experts` experts over `tokens` tokens: expert e follows latent factor
// factor_of[e] (plus a little noise); experts absent from factor_of get pure noise.
std::vector<float> PlantedLogits(int num_experts, int tokens, const std::vector<int>& factor_of,
                                 int factors) {
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> out(size_t(num_experts) * tokens);
  for (int t = 0; t < tokens; ++t) {
    std::vector<float> f(static_cast<size_t>(factors));
    for (float& v : f) v = n(rng);
    for (int e = 0; e < num_experts; ++e) {
      const float noise = 0.2f * n(rng);
      out[size_t(t) * num_experts + e] =
          e < int(factor_of.size()) ? f[size_t(factor_of[e])] + noise : n(rng);
    }
  }
  return out;
}

TEST(ProxyClusters, ExpertsThatMoveTogetherAreClusteredTogether) {
  // Members 1..12 of a 16-expert layer; three planted factors, interleaved over the ids.
  std::vector<int> factor_of(16, 0);
  std::vector<int> members;
  for (int e = 1; e <= 12; ++e) {
    factor_of[size_t(e)] = e % 3;
    members.push_back(e);
  }
  const std::vector<float> logits = PlantedLogits(16, 400, factor_of, 3);
  const auto clusters = ClusterByRouterLogits(members, logits.data(), 400, 16, 3);
  ASSERT_EQ(clusters.size(), 3u);
  std::set<int> seen;
  for (const auto& c : clusters) {
    ASSERT_EQ(c.size(), 4u);
    EXPECT_TRUE(std::is_sorted(c.begin(), c.end()));
    for (int e : c) {
      EXPECT_EQ(factor_of[size_t(e)], factor_of[size_t(c.front())]) << "expert " << e;
      EXPECT_TRUE(seen.insert(e).second) << "expert " << e << " in two clusters";
    }
  }
  EXPECT_EQ(seen.size(), members.size());
  // Ordered by their smallest member.
  EXPECT_LT(clusters[0].front(), clusters[1].front());
  EXPECT_LT(clusters[1].front(), clusters[2].front());
}

TEST(ProxyClusters, SizesStayAboutEqualWhenTheStructureIsLopsided) {
  // Nine experts follow one factor, one another: four clusters still split the nine.
  std::vector<int> factor_of(10, 0);
  factor_of[9] = 1;
  std::vector<int> members(10);
  for (int e = 0; e < 10; ++e) members[size_t(e)] = e;
  const std::vector<float> logits = PlantedLogits(10, 300, factor_of, 2);
  const auto clusters = ClusterByRouterLogits(members, logits.data(), 300, 10, 4);
  ASSERT_EQ(clusters.size(), 4u);
  size_t total = 0;
  for (const auto& c : clusters) {
    EXPECT_LE(c.size(), 4u);  // ceil(10 / 4) = 3, relaxed by at most one
    EXPECT_GE(c.size(), 1u);
    total += c.size();
  }
  EXPECT_EQ(total, 10u);
}

TEST(ProxyClusters, OneClusterAndMoreClustersThanExperts) {
  const std::vector<int> members = {2, 5, 7};
  const std::vector<float> logits = PlantedLogits(8, 50, {0, 0, 0, 1, 1, 1, 2, 2}, 3);
  EXPECT_EQ(ClusterByRouterLogits(members, logits.data(), 50, 8, 1),
            std::vector<std::vector<int>>{members});
  EXPECT_EQ(ClusterByRouterLogits(members, logits.data(), 50, 8, 0),
            std::vector<std::vector<int>>{members});
  EXPECT_EQ(ClusterByRouterLogits(members, logits.data(), 50, 8, 5),
            (std::vector<std::vector<int>>{{2}, {5}, {7}}));
  EXPECT_TRUE(ClusterByRouterLogits({}, logits.data(), 50, 8, 3).empty());
}

}  // namespace
}  // namespace moedist
