#include "pipeline/proxy_clusters.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace moedist {

std::vector<std::vector<int>> ClusterByRouterLogits(const std::vector<int>& members,
                                                    const float* logits, int64_t tokens,
                                                    int num_experts, int clusters) {
  const size_t n = members.size();
  std::vector<std::vector<int>> out;
  if (clusters <= 1 || n <= 1) {
    if (n > 0) out.push_back(members);
    return out;
  }
  // Standardised logit series per member: their dot products / tokens are correlations.
  std::vector<std::vector<double>> z(n, std::vector<double>(size_t(tokens)));
  for (size_t i = 0; i < n; ++i) {
    double mean = 0, sq = 0;
    for (int64_t t = 0; t < tokens; ++t) mean += logits[size_t(t) * num_experts + members[i]];
    mean /= double(std::max<int64_t>(tokens, 1));
    for (int64_t t = 0; t < tokens; ++t) {
      const double v = logits[size_t(t) * num_experts + members[i]] - mean;
      z[i][size_t(t)] = v;
      sq += v * v;
    }
    const double norm = sq > 0 ? 1.0 / std::sqrt(sq) : 0.0;
    for (double& v : z[i]) v *= norm;
  }
  std::vector<std::vector<double>> corr(n, std::vector<double>(n, 0.0));
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i; j < n; ++j) {
      double s = 0;
      for (int64_t t = 0; t < tokens; ++t) s += z[i][size_t(t)] * z[j][size_t(t)];
      corr[i][j] = corr[j][i] = s;
    }
  }
  // Clusters as member indices; average linkage = mean pairwise correlation.
  std::vector<std::vector<size_t>> parts;
  for (size_t i = 0; i < n; ++i) parts.push_back({i});
  const size_t want = std::min(n, size_t(clusters));
  size_t cap = (n + want - 1) / want;
  while (parts.size() > want) {
    double best = -std::numeric_limits<double>::infinity();
    size_t ba = 0, bb = 0;
    for (size_t a = 0; a < parts.size(); ++a) {
      for (size_t b = a + 1; b < parts.size(); ++b) {
        if (parts[a].size() + parts[b].size() > cap) continue;
        double s = 0;
        for (size_t i : parts[a])
          for (size_t j : parts[b]) s += corr[i][j];
        s /= double(parts[a].size() * parts[b].size());
        if (s > best) best = s, ba = a, bb = b;
      }
    }
    if (best == -std::numeric_limits<double>::infinity()) {
      ++cap;  // fragments that no longer fit together: let clusters grow by one
      continue;
    }
    parts[ba].insert(parts[ba].end(), parts[bb].begin(), parts[bb].end());
    parts.erase(parts.begin() + std::ptrdiff_t(bb));
  }
  for (const auto& p : parts) {
    std::vector<int> ids;
    for (size_t i : p) ids.push_back(members[i]);
    std::sort(ids.begin(), ids.end());
    out.push_back(std::move(ids));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace moedist
