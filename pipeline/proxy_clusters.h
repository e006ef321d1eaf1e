// Splits one group's experts into clusters that a proxy expert each stands for
// (docs/algorithms.md, "Stand-ins for absent experts"). One proxy per group has the width of
// one expert for every member: with 26 absent experts of 64 units it keeps 4 % of their units.
// More, smaller clusters keep more of each member at the cost of one expert slot per extra
// proxy; experts the router scores alike go together, so one router row can stand for their
// log-sum-exp and one fitted down projection for their mix.
// Thread safety: a pure function.
#pragma once

#include <cstdint>
#include <vector>

namespace moedist {

// `members` (sorted) into at most `clusters` clusters (each sorted, ordered by their smallest
// member), by average-linkage agglomeration on the correlation of the members' router logits
// over the `tokens` rows of `logits` ([tokens, num_experts]), merging only while a cluster stays
// within ceil(n / clusters) members (relaxed by one member at a time when no merge fits), so the
// clusters come out about equal. clusters >= n gives one cluster per member; clusters <= 1 one.
std::vector<std::vector<int>> ClusterByRouterLogits(const std::vector<int>& members,
                                                    const float* logits, int64_t tokens,
                                                    int num_experts, int clusters);

}  // namespace moedist
