#include "pipeline/hotness_tiers.h"

#include <algorithm>
#include <numeric>
#include <tuple>

namespace moedist {
namespace {

// Expert indices by descending mass (ties: lower index first, so the order is reproducible).
std::vector<int> HottestFirst(const std::vector<double>& mass) {
  std::vector<int> order(mass.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return mass[a] > mass[b]; });
  return order;
}

// The shortest hottest-first prefix holding at least `percent` % of the mass. The comparison
// allows for the rounding of a long sum, so a tier of 100 % is every expert with any mass.
std::vector<int> TierOf(const std::vector<double>& mass, int percent) {
  const double total = std::accumulate(mass.begin(), mass.end(), 0.0);
  const double want = total * percent / 100.0 * (1 - 1e-12);
  std::vector<int> out;
  double held = 0;
  for (int e : HottestFirst(mass)) {
    if (held >= want && !out.empty()) break;
    out.push_back(e);
    held += mass[e];
  }
  return out;
}

double Share(double part, double whole) {
  return whole > 0 ? part / whole : 0;
}

Status CheckOptions(const GateProfile& p, const TierOptions& o) {
  if (p.layers.empty()) return Status::InvalidArgument("{}: no profiled layer", p.suite_path);
  for (int pc : o.percents) {
    if (pc <= 0 || pc > 100) {
      return Status::InvalidArgument("tier percent {}: expected 1 to 100", pc);
    }
  }
  return Status::Ok();
}

Result<std::vector<uint64_t>> BytesOf(const GateProfile& p, const TierOptions& o, int layer) {
  const auto& source = o.expert_bytes.empty() ? p.expert_bytes : o.expert_bytes;
  auto it = source.find(layer);
  if (it == source.end() || it->second.size() != static_cast<size_t>(p.num_experts)) {
    return Status::FailedPrecondition("{} expert bytes: none for the {} experts of layer {}",
                                      o.bytes_source, p.num_experts, layer);
  }
  for (uint64_t b : it->second) {
    if (b == 0)
      return Status::FailedPrecondition("{} expert bytes: 0 in layer {}", o.bytes_source, layer);
  }
  return it->second;
}

Result<LayerTiers> TiersOfLayer(const GateProfile& p, const LayerGateProfile& lp,
                                const TierOptions& o) {
  LayerTiers lt;
  lt.layer = lp.layer;
  ASSIGN_OR_RETURN(lt.expert_bytes, BytesOf(p, o, lp.layer));
  for (int pc : o.percents) {
    MassTier t{.percent = pc, .experts = TierOf(lp.gate_mass, pc)};
    ASSIGN_OR_RETURN(t.calibration, MeasureCoverage(p, {lp.layer}, {{lp.layer, t.experts}}));
    lt.overall.push_back(std::move(t));
  }
  for (const auto& [domain, mass] : lp.domain_mass) {
    for (int pc : o.percents) {
      DomainTier d{.percent = pc, .experts = TierOf(mass, pc)};
      ASSIGN_OR_RETURN(TierCoverage c, MeasureCoverage(p, {lp.layer}, {{lp.layer, d.experts}}));
      d.calibration = c.domains.at(domain);
      lt.domains[domain].push_back(std::move(d));
    }
  }
  return lt;
}

// Greedy by calibration gate mass per byte over every (layer, expert), taking each that still
// fits: exact when experts are of one size, and within one expert's bytes of the best set
// otherwise (the fractional-knapsack bound).
ResidentSet ChooseResident(const GateProfile& p, const std::vector<LayerTiers>& layers,
                           uint64_t budget) {
  struct Item {
    double per_byte;
    int layer, expert;
    uint64_t bytes;
  };
  std::vector<Item> items;
  for (const LayerTiers& lt : layers) {
    const LayerGateProfile& lp = *p.FindLayer(lt.layer);
    for (size_t e = 0; e < lp.gate_mass.size(); ++e) {
      const uint64_t b = lt.expert_bytes[e];
      items.push_back({lp.gate_mass[e] / static_cast<double>(b), lt.layer, static_cast<int>(e), b});
    }
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return std::tie(b.per_byte, a.layer, a.expert) < std::tie(a.per_byte, b.layer, b.expert);
  });
  ResidentSet r{.budget_bytes = budget};
  for (const Item& it : items) {
    if (it.per_byte <= 0 || r.bytes + it.bytes > budget) continue;
    r.bytes += it.bytes;
    r.experts[it.layer].push_back(it.expert);
  }
  for (auto& [layer, experts] : r.experts) std::sort(experts.begin(), experts.end());
  return r;
}

std::vector<int> LayersOf(const HotnessTiers& t) {
  std::vector<int> out;
  for (const LayerTiers& lt : t.layers) out.push_back(lt.layer);
  return out;
}

nlohmann::json CoverageToJson(const TierCoverage& c) {
  return {{"gate_mass", c.gate_mass},
          {"selections", c.selections},
          {"tokens", c.tokens},
          {"domains", c.domains}};
}

void PutCoverage(nlohmann::json& j, const TierCoverage& cal,
                 const std::optional<TierCoverage>& ev) {
  j["calibration"] = CoverageToJson(cal);
  if (ev) j["eval"] = CoverageToJson(*ev);
}

nlohmann::json SuiteToJson(const SuiteRef& s) {
  return {{"path", s.path}, {"sha256", s.sha256}, {"tokens", s.tokens}};
}

nlohmann::json LayerToJson(const HotnessTiers& t, const LayerTiers& lt) {
  nlohmann::json mass = nlohmann::json::object();
  for (const MassTier& m : lt.overall) {
    nlohmann::json j = {{"experts", m.experts}};
    PutCoverage(j, m.calibration, m.eval);
    mass[std::to_string(m.percent)] = std::move(j);
  }
  nlohmann::json domains = nlohmann::json::object();
  for (const auto& [domain, tiers] : lt.domains) {
    for (const DomainTier& d : tiers) {
      nlohmann::json j = {{"experts", d.experts}, {"calibration", d.calibration}};
      if (d.eval) j["eval"] = *d.eval;
      domains[domain][std::to_string(d.percent)] = std::move(j);
    }
  }
  return {{"expert_bytes", lt.expert_bytes}, {"mass", mass}, {"domains", domains}};
}

}  // namespace

Result<TierCoverage> MeasureCoverage(const GateProfile& profile, const std::vector<int>& scope,
                                     const ExpertSet& set) {
  double mass = 0, mass_in = 0, sel = 0, sel_in = 0;
  std::map<std::string, std::pair<double, double>> domains;  // in, all
  for (int layer : scope) {
    const LayerGateProfile* lp = profile.FindLayer(layer);
    if (lp == nullptr) {
      return Status::FailedPrecondition("{}: layer {} is not profiled (profile it with --layers)",
                                        profile.suite_path, layer);
    }
    auto it = set.find(layer);
    const std::vector<int> none;
    const std::vector<int>& in = it == set.end() ? none : it->second;
    mass += std::accumulate(lp->gate_mass.begin(), lp->gate_mass.end(), 0.0);
    for (uint64_t s : lp->selection_count) sel += static_cast<double>(s);
    for (const auto& [d, m] : lp->domain_mass) {
      domains[d].second += std::accumulate(m.begin(), m.end(), 0.0);
    }
    for (int e : in) {
      if (e < 0 || static_cast<size_t>(e) >= lp->gate_mass.size()) {
        return Status::FailedPrecondition("{}: layer {} has no expert {}", profile.suite_path,
                                          layer, e);
      }
      mass_in += lp->gate_mass[e];
      sel_in += static_cast<double>(lp->selection_count[e]);
      for (const auto& [d, m] : lp->domain_mass) domains[d].first += m[e];
    }
  }
  TierCoverage c{.gate_mass = Share(mass_in, mass),
                 .selections = Share(sel_in, sel),
                 .tokens = profile.tokens};
  for (const auto& [d, v] : domains) c.domains[d] = Share(v.first, v.second);
  return c;
}

Result<HotnessTiers> ComputeHotnessTiers(const GateProfile& p, const TierOptions& o) {
  RETURN_IF_ERROR(CheckOptions(p, o));
  HotnessTiers t;
  t.percents = o.percents;
  t.bytes_source = o.bytes_source;
  t.calibration = {p.suite_path, p.suite_sha256, p.tokens};
  for (const LayerGateProfile& lp : p.layers) {
    ASSIGN_OR_RETURN(LayerTiers lt, TiersOfLayer(p, lp, o));
    t.layers.push_back(std::move(lt));
  }
  if (o.resident_bytes) {
    ResidentSet r = ChooseResident(p, t.layers, *o.resident_bytes);
    ASSIGN_OR_RETURN(r.calibration, MeasureCoverage(p, LayersOf(t), r.experts));
    t.resident = std::move(r);
  }
  return t;
}

Status AddEvalCoverage(HotnessTiers& t, const GateProfile& eval, const std::string& eval_path) {
  if (eval.num_experts != static_cast<int>(t.layers.front().expert_bytes.size())) {
    return Status::FailedPrecondition("{}: {} experts per layer, the calibration profile has {}",
                                      eval_path, eval.num_experts,
                                      t.layers.front().expert_bytes.size());
  }
  for (LayerTiers& lt : t.layers) {
    for (MassTier& m : lt.overall) {
      ASSIGN_OR_RETURN(m.eval, MeasureCoverage(eval, {lt.layer}, {{lt.layer, m.experts}}));
    }
    for (auto& [domain, tiers] : lt.domains) {
      for (DomainTier& d : tiers) {
        ASSIGN_OR_RETURN(TierCoverage c,
                         MeasureCoverage(eval, {lt.layer}, {{lt.layer, d.experts}}));
        auto it = c.domains.find(domain);
        if (it != c.domains.end()) d.eval = it->second;
      }
    }
  }
  if (t.resident) {
    ASSIGN_OR_RETURN(t.resident->eval, MeasureCoverage(eval, LayersOf(t), t.resident->experts));
  }
  t.eval = SuiteRef{eval_path, eval.suite_sha256, eval.tokens};
  return Status::Ok();
}

nlohmann::json HotnessTiersToJson(const HotnessTiers& t) {
  nlohmann::json layers = nlohmann::json::object();
  for (const LayerTiers& lt : t.layers) layers[std::to_string(lt.layer)] = LayerToJson(t, lt);
  nlohmann::json j = {{"percents", t.percents},
                      {"bytes_source", t.bytes_source},
                      {"calibration", SuiteToJson(t.calibration)},
                      {"layers", layers}};
  if (t.eval) j["eval"] = SuiteToJson(*t.eval);
  if (t.resident) {
    nlohmann::json experts = nlohmann::json::object();
    for (const auto& [layer, e] : t.resident->experts) experts[std::to_string(layer)] = e;
    nlohmann::json r = {{"budget_bytes", t.resident->budget_bytes},
                        {"bytes", t.resident->bytes},
                        {"experts", experts},
                        {"method", "greedy by calibration gate mass per byte across layers"}};
    PutCoverage(r, t.resident->calibration, t.resident->eval);
    j["resident"] = std::move(r);
  }
  return j;
}

}  // namespace moedist
