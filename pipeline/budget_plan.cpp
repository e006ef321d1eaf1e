#include "pipeline/budget_plan.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/byte_size.h"
#include "core/json_strict.h"
#include "core/scratch_dir.h"
#include "pipeline/captured_mass.h"
#include "pipeline/overlay_select.h"
#include "pipeline/partition_search.h"
#include "pipeline/standin_plan.h"

namespace moedist {
namespace {
namespace fs = std::filesystem;

// Largest overlay count a split may have: smaller than a group, as `plan` requires.
bool OverlayAllowed(int overlay, int num_experts, int groups) {
  return overlay == 0 || overlay < (num_experts - overlay) / groups;
}

// Share of the gate mass the overlay holds, mean over profiled layers.
double OverlayMassShare(const GateProfile& p, int overlay) {
  if (overlay <= 0 || p.layers.empty()) return 0;
  double total = 0;
  for (const LayerGateProfile& l : p.layers) {
    double all = 0, held = 0;
    for (double m : l.gate_mass) all += m;
    for (int e : SelectOverlay(l, p.num_experts, overlay)) held += l.gate_mass[e];
    total += all > 0 ? held / all : 0;
  }
  return total / static_cast<double>(p.layers.size());
}

struct Sizer {
  const GateProfile& profile;
  const Checkpoint& ckpt;
  const std::vector<ClassifiedTensor>& classified;
  const std::string& dir;

  Result<uint64_t> Bytes(const CandidateConfig& c) const {
    return PredictNodeBytes(ckpt, classified, dir, CandidateSizingPlan(profile, c),
                            CandidateRecipe(c));
  }
};

// The largest overlay that fits `budget` (binary search: node bytes grow with the overlay while
// the overlay's type is at least the groups' precision). nullopt when even none fits.
Result<std::optional<int>> FitOverlay(const Sizer& s, CandidateConfig c, uint64_t budget,
                                      uint64_t& bytes_at_fit) {
  c.overlay = 0;
  ASSIGN_OR_RETURN(uint64_t base, s.Bytes(c));
  if (base > budget) {
    bytes_at_fit = base;
    return std::optional<int>();
  }
  int lo = 0, hi = 0;
  const int E = s.profile.num_experts;
  while (hi + 1 < E && OverlayAllowed(hi + 1, E, c.groups)) ++hi;
  bytes_at_fit = base;
  while (lo < hi) {
    const int mid = lo + (hi - lo + 1) / 2;
    c.overlay = mid;
    ASSIGN_OR_RETURN(uint64_t b, s.Bytes(c));
    if (b <= budget) {
      lo = mid;
      bytes_at_fit = b;
    } else {
      hi = mid - 1;
    }
  }
  return std::optional<int>(lo);
}

// The bytes of one more expert per node and MoE layer at `base`'s groups' type: what an overlay
// of 2 adds to a 2-group split, the smallest split any model allows an overlay in. 0 when the
// model has too few experts for that.
Result<uint64_t> ExpertSlotBytes(const Sizer& s, const CandidateConfig& base) {
  if (!OverlayAllowed(2, s.profile.num_experts, 2)) return uint64_t{0};
  CandidateConfig two = base;
  two.groups = 2;
  two.overlay = 0;
  two.overlay_type = two.experts;
  two.overlay_layers.clear();
  two.proxies = 0;
  CandidateConfig more = two;
  more.overlay = 2;
  ASSIGN_OR_RETURN(uint64_t bytes_two, s.Bytes(two));
  ASSIGN_OR_RETURN(uint64_t bytes_more, s.Bytes(more));
  return bytes_more > bytes_two ? bytes_more - bytes_two : 0;
}

// A split of `base`'s types with `groups` groups and proxy experts filling `budget`: the most
// experts per node (at least `base`'s) whose predicted bytes fit, as many of them proxies as fit
// (MostProxies), each proxy sized as `slot` bytes (ExpertSlotBytes). Unlike an overlay, which
// must stay smaller than a group, proxies can take every byte the split leaves. nullopt when
// not even one proxy per group fits.
Result<std::optional<CandidateConfig>> FillWithProxies(const Sizer& s, const CandidateConfig& base,
                                                       int groups, uint64_t slot, uint64_t budget,
                                                       uint64_t& bytes) {
  const int E = s.profile.num_experts;
  CandidateConfig a = base;
  a.groups = groups;
  a.overlay_layers.clear();
  a.proxies = 0;
  std::optional<CandidateConfig> best;
  const int base_slots = SplitExpertsPerNode(E, base.groups, base.overlay, 0);
  for (int slots = base_slots;; ++slots) {
    const std::optional<ProxySplit> split = MostProxies(E, groups, slots);
    if (!split) {
      if (best || slots >= E * groups) break;
      continue;
    }
    if (best && best->proxies == split->proxies_per_group && best->overlay == split->overlay) {
      continue;  // the extra slot changes nothing at this group count
    }
    CandidateConfig plain = a;
    plain.overlay = split->overlay;
    ASSIGN_OR_RETURN(uint64_t own, s.Bytes(plain));
    const uint64_t total = own + slot * uint64_t(split->proxies_per_group) * uint64_t(groups - 1);
    // The base split's own experts per node always count (same experts, same types); more only
    // where they are predicted to fit.
    if (total > budget && slots > base_slots) break;
    CandidateConfig v = plain;
    v.proxies = split->proxies_per_group;
    best = v;
    bytes = total;
    if (slot == 0 || v.proxies == (E - v.overlay) / groups) break;
  }
  return best;
}

// Placement plans are the costly part of a prediction; many configurations share the group
// count and the overlay counts.
class PlanCache {
 public:
  PlanCache(const GateProfile& p, const PlacementOptions& o) : p_(p), o_(o) {}
  const ExpertPlan& Get(const CandidateConfig& c) {
    const std::map<int, int> counts = OverlayCounts(p_, c);
    auto key = std::make_pair(c.groups, counts);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    std::map<int, std::vector<int>> ov;
    for (const auto& [layer, k] : counts) {
      if (k > 0) ov[layer] = SelectOverlay(*p_.FindLayer(layer), p_.num_experts, k);
    }
    return plans_[key] = PlacementPlan(p_, c.groups, ov, o_);
  }

 private:
  const GateProfile& p_;
  const PlacementOptions& o_;
  std::map<std::pair<int, std::map<int, int>>, ExpertPlan> plans_;
};

bool BetterPredicted(const BudgetCandidate& a, const BudgetCandidate& b) {
  if (a.predicted.worst != b.predicted.worst) return a.predicted.worst > b.predicted.worst;
  if (a.predicted.placed != b.predicted.placed) return a.predicted.placed > b.predicted.placed;
  return a.predicted.bytes < b.predicted.bytes;
}

// Indices of the candidates to measure: the best `count` by prediction, plus the best whole
// and the best split when those are not among them.
std::vector<int> PickForMeasurement(const std::vector<BudgetCandidate>& cands, int count) {
  std::vector<int> out;
  for (int i = 0; i < static_cast<int>(cands.size()) && static_cast<int>(out.size()) < count; ++i) {
    out.push_back(i);
  }
  for (bool whole : {true, false}) {
    for (int i = 0; i < static_cast<int>(cands.size()); ++i) {
      if (cands[i].config.whole != whole) continue;
      if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
      break;
    }
  }
  return out;
}

// The measured choice: worst node first; within `tie` of each other, placed sessions; within
// the tie on both, the calibration suite cannot tell them apart, and the candidate with more
// bytes (the less quantized, closer to the source model) is the safer bet on text it has not
// seen — the budget is the user's to fill.
bool BetterMeasured(const BudgetCandidate& a, const BudgetCandidate& b, double tie) {
  const SessionQuality& qa = a.measured->quality;
  const SessionQuality& qb = b.measured->quality;
  if (qa.worst_node > qb.worst_node + tie) return true;
  if (qa.worst_node < qb.worst_node - tie) return false;
  if (qa.placed > qb.placed + tie) return true;
  if (qa.placed < qb.placed - tie) return false;
  if (a.measured->bytes != b.measured->bytes) return a.measured->bytes > b.measured->bytes;
  return qa.worst_node > qb.worst_node;
}

int ChooseMeasured(const std::vector<BudgetCandidate>& cands, double tie) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(cands.size()); ++i) {
    if (!cands[i].measured || cands[i].over_budget) continue;
    if (best < 0 || BetterMeasured(cands[i], cands[best], tie)) best = i;
  }
  return best;
}

template <typename V>
nlohmann::json LayerMapJson(const std::map<int, V>& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [layer, v] : m) j[std::to_string(layer)] = v;
  return j;
}

nlohmann::json ConfigToJson(const CandidateConfig& c) {
  nlohmann::json j = {{"id", c.Id()},
                      {"layout", c.whole ? "whole" : "split"},
                      {"groups", c.groups},
                      {"overlay", c.overlay},
                      {"trunk_type", c.trunk.Name()},
                      {"expert_type", c.experts.Name()},
                      {"overlay_type", c.whole ? c.experts.Name() : c.overlay_type.Name()}};
  if (!c.overlay_layers.empty()) j["overlay_by_layer"] = LayerMapJson(c.overlay_layers);
  return j;
}

nlohmann::json CandidateToJson(const BudgetCandidate& c) {
  nlohmann::json j = ConfigToJson(c.config);
  const CandidatePrediction& p = c.predicted;
  j["viable"] = c.viable;
  j["predicted"] = {{"bytes", p.bytes},
                    {"captured_mean", p.captured_mean},
                    {"captured_worst", p.captured_worst},
                    {"qerr_trunk", p.qerr_trunk},
                    {"qerr_experts", p.qerr_experts},
                    {"worst_node", p.worst},
                    {"placed", p.placed}};
  if (c.measured) {
    nlohmann::json m = SessionQualityToJson(c.measured->quality);
    m["bytes"] = c.measured->bytes;
    m["node_bytes"] = c.measured->node_bytes;
    m["seconds"] = c.measured->seconds;
    m["over_budget"] = c.over_budget;
    j["measured"] = m;
  } else {
    j["measured"] = nullptr;
  }
  if (!c.measure_error.empty()) j["measure_error"] = c.measure_error;
  return j;
}

void Progress(const BudgetOptions& o, const std::string& line) {
  if (o.progress) o.progress(line);
}

}  // namespace

Result<BudgetPlanResult> PlanToBudget(const GateProfile& p, const std::string& profile_path,
                                      const BudgetOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.nodes < 1) return Status::InvalidArgument("--nodes must be at least 1");
  if (o.node_bytes == 0) return Status::InvalidArgument("--node-bytes must be positive");
  if (o.measure < 1) return Status::InvalidArgument("--measure must be at least 1");
  if (p.layers.empty()) {
    return Status::InvalidArgument("{}: the profile holds no MoE layer statistics", profile_path);
  }
  BudgetPlanResult r;
  r.checkpoint_dir = o.checkpoint_dir.empty() ? p.checkpoint : o.checkpoint_dir;
  r.suite_path = o.suite_path.empty() ? p.suite_path : o.suite_path;
  if (r.checkpoint_dir.empty() || !fs::is_directory(r.checkpoint_dir)) {
    return Status::NotFound(
        "{}: the profile's checkpoint \"{}\" is not a directory here; give --checkpoint",
        profile_path, r.checkpoint_dir);
  }
  if (r.suite_path.empty() || !fs::is_regular_file(r.suite_path)) {
    return Status::NotFound(
        "{}: the profile's calibration suite \"{}\" is not a file here; give --suite", profile_path,
        r.suite_path);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Checkpoint> ckpt, Checkpoint::Open(r.checkpoint_dir));
  ASSIGN_OR_RETURN(std::vector<ClassifiedTensor> classified, ClassifyCheckpoint(*ckpt));
  if (ckpt->config().routing.num_experts != p.num_experts) {
    return Status::InvalidArgument("{}: profile of {} experts, but {} has {}", profile_path,
                                   p.num_experts, r.checkpoint_dir,
                                   ckpt->config().routing.num_experts);
  }

  // 1-2. Enumerate, size, predict.
  const std::vector<RecipeType> trunk_types = BudgetTrunkTypes();
  const std::vector<RecipeType> expert_types = BudgetExpertTypes();
  Progress(o, "measuring quantization error of sampled rows");
  ASSIGN_OR_RETURN(QuantErrorTable qerr, QuantErrorTable::Measure(classified, p, expert_types,
                                                                  o.error_rows, o.error_experts));
  const Sizer sizer{p, *ckpt, classified, r.checkpoint_dir};
  PlanCache plans(p, o.placement);
  const int min_experts = 4 * p.top_k;
  const std::vector<CandidateConfig> configs =
      EnumerateConfigs(o.nodes, p.num_experts, trunk_types, expert_types);
  r.configurations = static_cast<int>(configs.size());
  r.smallest_bytes = UINT64_MAX;
  Progress(o, fmt::format("sizing {} configurations for {} nodes of {}", configs.size(), o.nodes,
                          FormatByteSize(o.node_bytes)));
  for (CandidateConfig c : configs) {
    uint64_t bytes = 0;
    if (c.whole) {
      ASSIGN_OR_RETURN(bytes, sizer.Bytes(c));
      r.smallest_bytes = std::min(r.smallest_bytes, bytes);
      if (bytes > o.node_bytes) {
        ++r.over_budget;
        continue;
      }
    } else {
      ASSIGN_OR_RETURN(std::optional<int> k, FitOverlay(sizer, c, o.node_bytes, bytes));
      r.smallest_bytes = std::min(r.smallest_bytes, bytes);
      if (!k) {
        ++r.over_budget;
        continue;
      }
      c.overlay = *k;
    }
    BudgetCandidate cand{c};
    CandidatePrediction& pr = cand.predicted;
    pr.bytes = bytes;
    pr.qerr_trunk = qerr.Trunk(c.trunk);
    if (c.whole) {
      pr.qerr_experts = qerr.Experts(c.experts, 0, false);
    } else {
      const CaptureSummary s = SummariseCapture(p, plans.Get(c));
      pr.captured_mean = s.mean;
      pr.captured_worst = s.worst_group_all;
      const double share = OverlayMassShare(p, c.overlay);
      pr.qerr_experts = share * qerr.Experts(c.overlay_type, c.overlay, true) +
                        (1 - share) * qerr.Experts(c.experts, c.overlay, false);
      cand.viable = (p.num_experts - c.overlay) / c.groups + c.overlay >= min_experts;
    }
    FinishPrediction(pr);
    r.candidates.push_back(std::move(cand));
  }
  if (r.candidates.empty()) {
    return Status::InvalidArgument(
        "no configuration fits {} per node: the smallest of {} needs {} ({} bytes); give more "
        "bytes or more nodes",
        FormatByteSize(o.node_bytes), r.configurations, FormatByteSize(r.smallest_bytes),
        r.smallest_bytes);
  }
  std::stable_sort(r.candidates.begin(), r.candidates.end(), BetterPredicted);

  // 3. Measure.
  Progress(o, "scoring the full model on the calibration suite");
  ASSIGN_OR_RETURN(MeasureBasis basis,
                   PrepareMeasureBasis(r.checkpoint_dir, r.suite_path, o.measure_prompts,
                                       o.measure_tokens, o.place_tokens, o.threads));
  r.full_mean_logprob = basis.full.mean_logprob;
  r.prompts = static_cast<int>(basis.prompts.tokens.size());
  r.tokens = basis.full.tokens_scored;
  ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Make(o.scratch_dir, "moedist-plan"));
  std::vector<int> picked = PickForMeasurement(r.candidates, o.measure);
  int done = 0;
  auto MeasureOne = [&](BudgetCandidate& c, int i) {
    Progress(o, fmt::format("measuring {}: {}", ++done, c.config.Id()));
    ExpertPlan plan = c.config.whole ? CandidateSizingPlan(p, c.config) : plans.Get(c.config);
    const std::string dir = fmt::format("{}/candidate-{}", scratch.path(), i);
    if (c.config.proxies) {
      // Fitted exactly as WriteBudgetPlan will fit them for the chosen plan.
      std::error_code ec;
      fs::create_directories(dir, ec);
      auto section =
          WriteStandInsBesidePlan(plan, StandInKind::kProxyFit, r.checkpoint_dir, r.suite_path,
                                  dir + "-plan.json", c.config.proxies, o.standin_tokens);
      if (!section.ok()) {
        c.measure_error = section.status().ToString();
        Progress(o, "  failed: " + c.measure_error);
        return;
      }
      plan.standins_file = dir + "-plan.standins.safetensors";
      plan.standins_kind = "proxy-fit";
    }
    auto m = MeasureCandidate(basis, plan, CandidateRecipe(c.config), dir, o.keep_scratch);
    if (!m.ok()) {
      c.measure_error = m.status().ToString();
      Progress(o, "  failed: " + c.measure_error);
      return;
    }
    c.measured = std::move(m).value();
    c.over_budget = c.measured->bytes > o.node_bytes;
    Progress(o,
             fmt::format("  {} per node, worst node {:+.4f}, placed {:+.4f} nats/token ({:.1f} s)",
                         FormatByteSize(c.measured->bytes), c.measured->quality.worst_node,
                         c.measured->quality.placed, c.measured->seconds));
  };
  for (int i : picked) {
    BudgetCandidate& c = r.candidates[i];
    MeasureOne(c, i);
  }

  // Sensitivity-driven overlay: the best measured split again, with the same overlay slots
  // given to the layers in proportion to how much restricting each one alone costs.
  int best_split = -1;
  for (int i : picked) {
    const BudgetCandidate& c = r.candidates[i];
    if (c.config.whole || !c.measured || c.config.overlay == 0) continue;
    if (best_split < 0 ||
        c.measured->quality.worst_node > r.candidates[best_split].measured->quality.worst_node) {
      best_split = i;
    }
  }
  if (o.sensitivity && best_split >= 0) {
    BudgetCandidate base = r.candidates[best_split];
    Progress(o, fmt::format("layer sensitivity of {}", base.config.Id()));
    ASSIGN_OR_RETURN(r.layer_sensitivity, MeasureLayerSensitivity(basis, plans.Get(base.config)));
    r.sensitivity_of = base.config.Id();
    CandidateConfig v = base.config;
    v.overlay_layers =
        AllocateOverlayBySensitivity(r.layer_sensitivity, v.overlay, p.num_experts, v.groups);
    if (v.overlay_layers != OverlayCounts(p, base.config)) {
      BudgetCandidate cand{v};
      ASSIGN_OR_RETURN(cand.predicted.bytes, sizer.Bytes(v));
      const CaptureSummary s = SummariseCapture(p, plans.Get(v));
      cand.predicted.captured_mean = s.mean;
      cand.predicted.captured_worst = s.worst_group_all;
      cand.predicted.qerr_trunk = base.predicted.qerr_trunk;
      cand.predicted.qerr_experts = base.predicted.qerr_experts;
      FinishPrediction(cand.predicted);
      r.candidates.push_back(std::move(cand));
      picked.push_back(static_cast<int>(r.candidates.size()) - 1);
      MeasureOne(r.candidates.back(), picked.back());
    } else {
      Progress(o, "  the sensitivity allocation equals the uniform one");
    }
  }

  // Proxy experts: the best measured uniform split's types again, for every group count the
  // nodes allow, as its own group, as many proxies per group as fit (C proxies per group are
  // (G − 1) × C experts on each node) and the overlay the rest allows, the experts per node
  // filled up to the budget (FillWithProxies); and the same from the measured split with the
  // lowest-precision experts, when that is another, for more experts per byte. Measured on
  // examples/model64 at 37–38 experts per node (docs/algorithms.md, "Proxies per cluster"):
  // 2 groups, the worst node went −1.389, −1.145, −0.930, −0.844 nats/token with 1, 2, 4, 6
  // proxies per group, and 4 groups with 7 reached −0.618: more, smaller clusters win, so the
  // most that fit, and the group count and types are the measurement's to decide.
  if (o.standins && best_split >= 0) {
    const std::vector<RecipeType> expert_order = BudgetExpertTypes();
    auto precision_rank = [&](const RecipeType& t) {
      return static_cast<int>(std::find(expert_order.begin(), expert_order.end(), t) -
                              expert_order.begin());
    };
    std::vector<int> bases = {best_split};
    int cheapest = -1;
    for (int i : picked) {
      const BudgetCandidate& c = r.candidates[i];
      if (c.config.whole || !c.measured || c.over_budget || c.config.proxies > 0 ||
          !c.config.overlay_layers.empty()) {
        continue;
      }
      if (cheapest < 0 || precision_rank(c.config.experts) >
                              precision_rank(r.candidates[cheapest].config.experts)) {
        cheapest = i;
      }
    }
    if (cheapest >= 0 &&
        !(r.candidates[cheapest].config.experts == r.candidates[best_split].config.experts &&
          r.candidates[cheapest].config.trunk == r.candidates[best_split].config.trunk)) {
      bases.push_back(cheapest);
    }
    const RoutingConfig& rc = ckpt->config().routing;
    if (rc.scoring != ScoringFunc::kSoftmax || rc.n_group > 1) {
      Progress(o, "proxy experts: not for this router (softmax without grouped top-k only)");
    } else {
      std::vector<CandidateConfig> tried;
      for (int bi : bases) {
        const BudgetCandidate base = r.candidates[bi];
        ASSIGN_OR_RETURN(const uint64_t slot, ExpertSlotBytes(sizer, base.config));
        for (int g = 2; g <= std::min(o.nodes, p.num_experts); ++g) {
          if (o.nodes % g != 0) continue;
          uint64_t bytes = 0;
          ASSIGN_OR_RETURN(std::optional<CandidateConfig> v,
                           FillWithProxies(sizer, base.config, g, slot, o.node_bytes, bytes));
          if (!v) {
            Progress(o, fmt::format("proxy experts: {} groups leave no room for a proxy beside "
                                    "{}",
                                    g, base.config.Id()));
            continue;
          }
          if (std::find_if(tried.begin(), tried.end(), [&](const CandidateConfig& t) {
                return t.Id() == v->Id();
              }) != tried.end()) {
            continue;
          }
          tried.push_back(*v);
          BudgetCandidate cand{*v};
          cand.predicted = base.predicted;  // the measurement decides
          cand.predicted.bytes = bytes;
          r.candidates.push_back(std::move(cand));
          picked.push_back(static_cast<int>(r.candidates.size()) - 1);
          MeasureOne(r.candidates.back(), picked.back());
        }
      }
    }
  }

  // 4. Choose.
  r.chosen = ChooseMeasured(r.candidates, o.tie_nats);
  if (r.chosen < 0) {
    return Status::FailedPrecondition(
        "no measured candidate fits {} per node (the first failure: {})",
        FormatByteSize(o.node_bytes),
        r.candidates[picked.front()].measure_error.empty()
            ? "files larger than predicted"
            : r.candidates[picked.front()].measure_error);
  }
  const BudgetCandidate& best = r.candidates[r.chosen];
  const SessionQuality& bq = best.measured->quality;
  r.reason = fmt::format("highest measured worst-node Δ {:+.4f} nats/token (placed {:+.4f})",
                         bq.worst_node, bq.placed);
  for (int i : picked) {
    if (i == r.chosen || !r.candidates[i].measured || r.candidates[i].over_budget) continue;
    const SessionQuality& q = r.candidates[i].measured->quality;
    if (q.worst_node > bq.worst_node) {
      r.reason += fmt::format(
          "; {} measured {:+.4f} / {:+.4f}, within the tie of {} nats/token, with fewer bytes "
          "or worse placed sessions",
          r.candidates[i].config.Id(), q.worst_node, q.placed, o.tie_nats);
    }
  }
  r.reason += best.config.whole ? "; no split needed: every node holds the whole model"
                                : "; split: no whole-model precision that fits measured better";
  r.recipe = CandidateRecipe(best.config);
  r.proxies_per_group = best.config.proxies;

  if (best.config.overlay_layers.empty()) {
    PlanOptions po;
    po.groups = best.config.groups;
    po.overlay = best.config.overlay;
    po.strategy = "placement";
    po.force = true;  // viability is a proxy; the measurement above decided
    po.placement = o.placement;
    ASSIGN_OR_RETURN(r.plan, MakePlan(p, profile_path, po));
  } else {
    // Per-layer overlays: the measured plan itself (MakePlan takes one count for every layer).
    r.plan.plan = plans.Get(best.config);
    r.plan.comparison["placement"] = StrategyReport{SummariseCapture(p, r.plan.plan)};
    r.plan.min_experts = min_experts;
  }
  if (!best.viable) {
    r.plan.warnings.push_back(fmt::format(
        "the chosen split holds fewer than {} experts (4 × top-k) per node and layer; it was "
        "chosen on measured quality",
        min_experts));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

nlohmann::json BudgetPlanToJson(const BudgetPlanResult& r, const GateProfile& p,
                                const std::string& profile_path, const BudgetOptions& o) {
  PlanOptions po;
  po.force = true;
  nlohmann::json j = PlanResultToJson(r.plan, p, profile_path, po);
  j["recipe"] = r.recipe.source;
  // What each node directory measured, under the chosen recipe (PlanResultToJson counts the
  // checkpoint's own bytes).
  const BudgetCandidate& chosen = r.candidates[r.chosen];
  nlohmann::json nodes = nlohmann::json::array();
  for (size_t g = 0; g < chosen.measured->node_bytes.size(); ++g) {
    nodes.push_back({{"node", g}, {"bytes", chosen.measured->node_bytes[g]}});
  }
  j["nodes"] = nodes;
  nlohmann::json cands = nlohmann::json::array();
  for (const BudgetCandidate& c : r.candidates) cands.push_back(CandidateToJson(c));
  j["budget"] = {
      {"nodes", o.nodes},
      {"node_bytes", o.node_bytes},
      {"layout", r.candidates[r.chosen].config.whole ? "whole" : "split"},
      {"chosen", r.candidates[r.chosen].config.Id()},
      {"reason", r.reason},
      {"objective",
       "measured worst-node Δ mean log-probability on the calibration suite; within tie_nats, "
       "placed Δ, then fewer bytes"},
      {"tie_nats", o.tie_nats},
      {"checkpoint", r.checkpoint_dir},
      {"suite", r.suite_path},
      {"measure",
       {{"prompts", r.prompts},
        {"tokens", r.tokens},
        {"max_tokens_per_prompt", o.measure_tokens},
        {"place_tokens", o.place_tokens},
        {"full_mean_logprob", r.full_mean_logprob}}},
      {"predictor",
       {{"capture_loss", kCaptureLoss},
        {"trunk_quant_loss", kTrunkQuantLoss},
        {"expert_quant_loss", kExpertQuantLoss}}},
      {"sensitivity", r.sensitivity_of.empty()
                          ? nlohmann::json(nullptr)
                          : nlohmann::json{{"of", r.sensitivity_of},
                                           {"delta_by_layer", LayerMapJson(r.layer_sensitivity)}}},
      {"configurations", r.configurations},
      {"over_budget", r.over_budget},
      {"seconds", r.seconds},
      {"candidates", cands}};
  return j;
}

Status WriteBudgetPlan(const BudgetPlanResult& r, const GateProfile& p,
                       const std::string& profile_path, const BudgetOptions& o,
                       const std::string& plan_path) {
  nlohmann::json j = BudgetPlanToJson(r, p, profile_path, o);
  if (r.proxies_per_group > 0) {
    ASSIGN_OR_RETURN(
        j["standins"],
        WriteStandInsBesidePlan(r.plan.plan, StandInKind::kProxyFit, r.checkpoint_dir, r.suite_path,
                                plan_path, r.proxies_per_group, o.standin_tokens));
  }
  return WriteFileAtomically(plan_path, DumpJsonStable(j) + "\n");
}

}  // namespace moedist
