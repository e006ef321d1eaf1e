#include "runtime-min/degeneracy.h"

#include <algorithm>
#include <set>
#include <vector>

namespace moedist {

double DistinctN(std::span<const int32_t> tokens, int n) {
  if (n <= 0 || static_cast<int64_t>(tokens.size()) < n) return 1.0;
  std::set<std::vector<int32_t>> seen;
  const size_t total = tokens.size() - n + 1;
  for (size_t i = 0; i < total; ++i) seen.emplace(tokens.begin() + i, tokens.begin() + i + n);
  return static_cast<double>(seen.size()) / static_cast<double>(total);
}

int LongestRepeatedNgram(std::span<const int32_t> tokens) {
  // lcp(i, j) = tokens[i] == tokens[j] ? lcp(i+1, j+1) + 1 : 0 over pairs i < j, computed
  // from the end one row at a time: O(L²) time, O(L) memory. Generations are short.
  const int len = static_cast<int>(tokens.size());
  std::vector<int> next(len + 1, 0), cur(len + 1, 0);
  int best = 0;
  for (int i = len - 1; i >= 0; --i) {
    for (int j = len - 1; j > i; --j) {
      cur[j] = tokens[i] == tokens[j] ? next[j + 1] + 1 : 0;
      best = std::max(best, cur[j]);
    }
    std::swap(cur, next);
  }
  return best;
}

DegeneracyStats MeasureDegeneracy(std::span<const int32_t> tokens) {
  return {DistinctN(tokens, 1), DistinctN(tokens, 2), DistinctN(tokens, 3),
          LongestRepeatedNgram(tokens)};
}

}  // namespace moedist
