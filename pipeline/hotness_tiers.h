// Hotness tiers: which routed experts hold most of the gate mass, and which to keep resident
// (GPU or RAM) for a byte budget, with the share of routing each set serves measured on the
// calibration profile and, independently, on a profile of another suite (docs/tiers.md).
//
// Per profiled MoE layer: the hottest experts that together hold 50 / 80 / 90 % of the layer's
// gate mass, over the whole suite and per calibration domain. For a byte budget: the resident
// set, chosen greedily across layers by calibration gate mass per byte (an expert's bytes come
// from the caller: the release's stored bytes or the checkpoint's), skipping experts that no
// longer fit. Coverage of a set = its share of the routed gate mass (normalised scores, so every
// token weighs the same in every layer) and of the top-k selections, over the layers in scope.
// The eval figures come from a profile of the eval suite, never from the calibration one, so
// a set that only fits the calibration prompts shows it (held-out transfer).
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/gate_profile.h"

namespace moedist {

// layer -> expert indices (ascending for resident sets, hottest first for mass tiers).
using ExpertSet = std::map<int, std::vector<int>>;

struct TierCoverage {
  double gate_mass = 0;                   // share of the routed gate mass over the layers in scope
  double selections = 0;                  // share of the top-k selections
  uint64_t tokens = 0;                    // tokens of the suite the figures come from
  std::map<std::string, double> domains;  // gate-mass share per domain of that suite
};

struct MassTier {
  int percent = 0;           // 50, 80, 90: the tier holds at least this share of the mass
  std::vector<int> experts;  // hottest first (calibration gate mass)
  TierCoverage calibration;
  std::optional<TierCoverage> eval;
};

// A domain's own tier: chosen on that domain's calibration mass, checked on the same domain of
// the eval suite (a hot set per domain must hold on that domain's held-out prompts).
struct DomainTier {
  int percent = 0;
  std::vector<int> experts;    // hottest first (the domain's calibration gate mass)
  double calibration = 0;      // share of the domain's calibration gate mass
  std::optional<double> eval;  // share of the domain's eval gate mass; none: no such eval domain
};

struct LayerTiers {
  int layer = 0;
  std::vector<uint64_t> expert_bytes;  // [E]
  std::vector<MassTier> overall;
  std::map<std::string, std::vector<DomainTier>> domains;  // one per percent, in order
};

struct ResidentSet {
  uint64_t budget_bytes = 0;
  uint64_t bytes = 0;  // of the chosen experts, <= budget_bytes
  ExpertSet experts;   // ascending per layer; layers with none left out
  TierCoverage calibration;
  std::optional<TierCoverage> eval;
};

struct SuiteRef {
  std::string path;
  std::string sha256;
  uint64_t tokens = 0;
};

struct HotnessTiers {
  std::vector<int> percents;
  std::string bytes_source;  // "release" (stored bytes under the recipe) or "checkpoint"
  SuiteRef calibration;
  std::optional<SuiteRef> eval;
  std::vector<LayerTiers> layers;  // the profiled MoE layers, ascending
  std::optional<ResidentSet> resident;
};

struct TierOptions {
  std::vector<int> percents = {50, 80, 90};  // each in (0, 100]
  std::optional<uint64_t> resident_bytes;    // --tier-bytes; none: no resident set
  // Bytes per expert of each profiled layer; empty: the profile's (the checkpoint's bytes).
  std::map<int, std::vector<uint64_t>> expert_bytes;
  std::string bytes_source = "checkpoint";
};

// The tiers of `calibration` (its calibration coverage filled in).
Result<HotnessTiers> ComputeHotnessTiers(const GateProfile& calibration, const TierOptions& o);

// Fills every set's eval coverage from `eval`, a profile of another suite over the same model;
// every layer of `tiers` must be profiled in it (named otherwise).
Status AddEvalCoverage(HotnessTiers& tiers, const GateProfile& eval, const std::string& eval_path);

// Coverage of `set` in `profile` over the layers `scope` (a layer of the set outside the scope is
// not counted). A scope layer the profile lacks is an error naming it.
Result<TierCoverage> MeasureCoverage(const GateProfile& profile, const std::vector<int>& scope,
                                     const ExpertSet& set);

// The `tiers` section of distribution.json and `moedist tiers --json` (docs/tiers.md).
nlohmann::json HotnessTiersToJson(const HotnessTiers& t);

}  // namespace moedist
