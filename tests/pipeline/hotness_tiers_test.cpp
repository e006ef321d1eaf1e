#include "pipeline/hotness_tiers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "pipeline/llama_offload_rules.h"
#include "planted_profile_testutil.h"

namespace moedist {
namespace {

using testing_util::MakePlantedProfile;
using testing_util::PlantedSpec;

// Layer 1's experts cost 3× layer 0's (another quant type), so the greedy must weigh bytes.
TierOptions UnevenBytes(const GateProfile& p, std::optional<uint64_t> budget) {
  TierOptions o;
  o.resident_bytes = budget;
  o.bytes_source = "test";
  for (int layer : {0, 1}) {
    o.expert_bytes[layer].assign(p.num_experts, layer == 0 ? 1000 : 3000);
  }
  return o;
}

double Sum(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0);
}

TEST(HotnessTiers, EachMassTierIsTheSmallestHottestSetHoldingItsShare) {
  const GateProfile p = MakePlantedProfile({});
  auto t = ComputeHotnessTiers(p, TierOptions{});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->layers.size(), p.layers.size());
  for (const LayerTiers& lt : t->layers) {
    const LayerGateProfile& lp = *p.FindLayer(lt.layer);
    ASSERT_EQ(lt.overall.size(), 3u);
    for (const MassTier& m : lt.overall) {
      double held = 0, least = 1e300;
      for (int e : m.experts) held += lp.gate_mass[e], least = std::min(least, lp.gate_mass[e]);
      const double share = held / Sum(lp.gate_mass);
      EXPECT_GE(share, m.percent / 100.0 - 1e-9) << "layer " << lt.layer << " " << m.percent;
      EXPECT_NEAR(m.calibration.gate_mass, share, 1e-12);
      // Minimal: without its coolest expert the set falls short.
      EXPECT_LT((held - least) / Sum(lp.gate_mass), m.percent / 100.0);
      // Hottest first: no expert outside is hotter than the coolest inside.
      std::set<int> in(m.experts.begin(), m.experts.end());
      for (int e = 0; e < p.num_experts; ++e) {
        if (!in.count(e)) {
          EXPECT_LE(lp.gate_mass[e], least);
        }
      }
    }
    EXPECT_LE(lt.overall[0].experts.size(), lt.overall[1].experts.size());
    EXPECT_LE(lt.overall[1].experts.size(), lt.overall[2].experts.size());
    ASSERT_EQ(lt.domains.size(), lp.domain_mass.size());
    for (const auto& [domain, tiers] : lt.domains) {
      const std::vector<double>& dm = lp.domain_mass.at(domain);
      ASSERT_EQ(tiers.size(), 3u);
      double held = 0;
      for (int e : tiers[2].experts) held += dm[e];
      EXPECT_EQ(tiers[2].percent, 90);
      EXPECT_GE(held / Sum(dm), 0.9 - 1e-9) << domain;
      EXPECT_NEAR(tiers[2].calibration, held / Sum(dm), 1e-12) << domain;
      EXPECT_FALSE(tiers[2].eval);  // no eval profile given
    }
  }
}

TEST(HotnessTiers, ResidentSetStaysWithinTheBudgetAndPrefersMassPerByte) {
  const GateProfile p = MakePlantedProfile({});
  for (uint64_t budget : {0ull, 999ull, 2500ull, 10000ull, 47000ull, 1000000ull}) {
    auto t = ComputeHotnessTiers(p, UnevenBytes(p, budget));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    const ResidentSet& r = *t->resident;
    uint64_t bytes = 0;
    for (const auto& [layer, experts] : r.experts)
      bytes += experts.size() * (layer == 0 ? 1000 : 3000);
    EXPECT_EQ(bytes, r.bytes);
    EXPECT_LE(r.bytes, budget);
    // Greedy leaves less than the cheapest expert unused unless everything is in.
    const size_t all = 2 * p.num_experts;
    size_t held = 0;
    for (const auto& [layer, experts] : r.experts) held += experts.size();
    if (held < all) {
      EXPECT_LT(budget - r.bytes, 3000u) << budget;
    }
    // An expert left out of layer 0 has no more mass per byte than any chosen one.
    double worst_in = 1e300, best_out = 0;
    for (const LayerTiers& lt : t->layers) {
      const LayerGateProfile& lp = *p.FindLayer(lt.layer);
      std::set<int> in;
      if (r.experts.count(lt.layer))
        in.insert(r.experts.at(lt.layer).begin(), r.experts.at(lt.layer).end());
      for (int e = 0; e < p.num_experts; ++e) {
        const double per_byte = lp.gate_mass[e] / lt.expert_bytes[e];
        if (in.count(e))
          worst_in = std::min(worst_in, per_byte);
        else if (lt.layer == 0)
          best_out = std::max(best_out, per_byte);
      }
    }
    if (held > 0) {
      EXPECT_GE(worst_in, best_out) << budget;
    }
    if (budget >= 64000) {
      EXPECT_DOUBLE_EQ(r.calibration.gate_mass, 1.0);
    }
    if (budget == 0) {
      EXPECT_EQ(r.calibration.gate_mass, 0.0);
    }
  }
}

TEST(HotnessTiers, EvalCoverageComesFromTheOtherProfile) {
  const GateProfile cal = MakePlantedProfile({});
  PlantedSpec other;
  other.seed = 7;
  other.prompts_per_domain = 5;
  const GateProfile eval = MakePlantedProfile(other);
  auto t = ComputeHotnessTiers(cal, UnevenBytes(cal, 20000));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(AddEvalCoverage(*t, eval, "eval.json").ok());
  ASSERT_TRUE(t->eval);
  EXPECT_EQ(t->eval->tokens, eval.tokens);
  // Recomputed here from the eval profile's arrays: resident mass / all mass over both layers.
  double in = 0, all = 0, sel_in = 0, sel_all = 0;
  for (const LayerGateProfile& lp : eval.layers) {
    all += Sum(lp.gate_mass);
    for (uint64_t s : lp.selection_count) sel_all += s;
    if (!t->resident->experts.count(lp.layer)) continue;
    for (int e : t->resident->experts.at(lp.layer))
      in += lp.gate_mass[e], sel_in += lp.selection_count[e];
  }
  ASSERT_TRUE(t->resident->eval);
  EXPECT_NEAR(t->resident->eval->gate_mass, in / all, 1e-12);
  EXPECT_NEAR(t->resident->eval->selections, sel_in / sel_all, 1e-12);
  EXPECT_EQ(t->resident->eval->tokens, eval.tokens);
  EXPECT_NE(t->resident->eval->gate_mass, t->resident->calibration.gate_mass);
  for (const LayerTiers& lt : t->layers) {
    for (const MassTier& m : lt.overall) {
      ASSERT_TRUE(m.eval);
      double held = 0;
      const LayerGateProfile& lp = *eval.FindLayer(lt.layer);
      for (int e : m.experts) held += lp.gate_mass[e];
      EXPECT_NEAR(m.eval->gate_mass, held / Sum(lp.gate_mass), 1e-12);
    }
  }
  // Per domain: each domain's own tier, measured on that domain of the eval profile.
  for (const LayerTiers& lt : t->layers) {
    const LayerGateProfile& lp = *eval.FindLayer(lt.layer);
    for (const auto& [domain, tiers] : lt.domains) {
      const std::vector<double>& dm = lp.domain_mass.at(domain);
      for (const DomainTier& d : tiers) {
        double held = 0;
        for (int e : d.experts) held += dm[e];
        ASSERT_TRUE(d.eval) << domain;
        EXPECT_NEAR(*d.eval, held / Sum(dm), 1e-12) << domain << " " << d.percent;
      }
    }
  }
  const nlohmann::json j = HotnessTiersToJson(*t);
  EXPECT_EQ(j["resident"]["eval"]["gate_mass"], t->resident->eval->gate_mass);
  EXPECT_EQ(j["layers"]["1"]["mass"]["90"]["experts"].size(),
            t->layers[1].overall[2].experts.size());
}

TEST(HotnessTiers, RefusesAnEvalProfileWithoutTheLayerAndBadInput) {
  const GateProfile cal = MakePlantedProfile({});
  PlantedSpec one;
  one.layers = {0};
  const GateProfile eval = MakePlantedProfile(one);
  auto t = ComputeHotnessTiers(cal, TierOptions{});
  ASSERT_TRUE(t.ok());
  Status st = AddEvalCoverage(*t, eval, "eval.json");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("layer 1"), std::string::npos) << st.ToString();
  TierOptions bad;
  bad.percents = {0};
  EXPECT_FALSE(ComputeHotnessTiers(cal, bad).ok());
  TierOptions missing = UnevenBytes(cal, 100);
  missing.expert_bytes.erase(1);
  auto m = ComputeHotnessTiers(cal, missing);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().ToString().find("layer 1"), std::string::npos);
}

TEST(LlamaOffload, WholeLayersWithinTheBudgetCheapestFirst) {
  const GateProfile p = MakePlantedProfile({});
  auto t = ComputeHotnessTiers(p, UnevenBytes(p, std::nullopt));
  ASSERT_TRUE(t.ok());
  const uint64_t layer0 = 1000ull * p.num_experts, layer1 = 3000ull * p.num_experts;
  // Room for layer 1 alone: layer 0 serves as many selections for a third of the bytes.
  auto plan = PlanLlamaOffload(*t, p, layer1, "CUDA0");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->ranked.size(), 2u);
  EXPECT_EQ(plan->ranked[0].layer, 0);
  EXPECT_TRUE(plan->ranked[0].on_gpu);
  EXPECT_FALSE(plan->ranked[1].on_gpu);
  EXPECT_EQ(plan->bytes, layer0);
  EXPECT_LE(plan->bytes, plan->budget_bytes);
  EXPECT_NEAR(plan->ranked[0].selections, 0.5, 1e-12);  // every layer routes top-k per token
  ASSERT_EQ(plan->args.size(), 4u);
  EXPECT_EQ(plan->args[1], R"(blk\.(0)\.ffn_(up|down|gate|gate_up)_(ch|)exps=CUDA0)");
  EXPECT_EQ(plan->args[3], R"(\.ffn_(up|down|gate|gate_up)_(ch|)exps=CPU)");
  auto both = PlanLlamaOffload(*t, p, layer0 + layer1, "CUDA0");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->args[1], R"(blk\.(0|1)\.ffn_(up|down|gate|gate_up)_(ch|)exps=CUDA0)");
  EXPECT_NEAR(both->selections, 1.0, 1e-12);
  auto none = PlanLlamaOffload(*t, p, layer0 - 1, "CUDA0");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->bytes, 0u);
  EXPECT_EQ(none->args.size(), 2u);
  EXPECT_FALSE(PlanLlamaOffload(*t, p, layer0, "CUDA0,x").ok());
}

}  // namespace
}  // namespace moedist
