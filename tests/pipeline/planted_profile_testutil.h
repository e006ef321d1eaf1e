// Synthetic gate profiles with planted structure, built through ProfileAccumulator exactly as
// the profiler would feed it: one super-generalist expert (expert 5) takes a large share of
// every token's mass; the other experts form domain clusters whose ids interleave (expert e
// belongs to domain e mod D), so id-order and mass-order partitions split every cluster.
#pragma once

#include <cstdint>

#include "pipeline/gate_profile.h"

namespace moedist::testing_util {

struct PlantedSpec {
  int experts = 32;
  int top_k = 4;
  int domains = 4;
  int prompts_per_domain = 12;
  int tokens_per_prompt = 24;
  std::vector<int> layers = {0, 1};
  double generalist_share = 0.25;
  double cluster_share = 0.6;
  uint64_t seed = 1;
};

inline constexpr int kGeneralist = 5;

GateProfile MakePlantedProfile(const PlantedSpec& spec);

}  // namespace moedist::testing_util
