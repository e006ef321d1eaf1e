// standin_compare: what a split node loses with plain masking against each stand-in for its
// absent experts (pipeline/standin_fit.h), per plan, measured on a held-out suite as validate
// measures sessions: worst node, placed (the node `place` picks) and oracle Δ log-probability
// per token against the full model (session_quality.h). Stand-ins are fitted on the
// calibration suite; the eval suite only scores.
//
//   standin_compare --checkpoint CKPT --calibration calib.jsonl --eval eval.jsonl
//                   --plan plan.json [--plan ...] [--kinds mask,constant,...] [--json OUT]
//
// Kinds: mask (plain masking), constant, proxy-average, proxy-fit, proxy-fit-exact (proxy-fit
// with the members' exact log-sum-exp logit instead of a fitted router row); a proxy kind
// followed by ":C" fits C proxies per group (clusters of its experts, proxy_clusters.h). Each
// plan's nodes hold its groups ∪ overlay; proxies add one expert per other group and layer, so
// compare them with a mask plan whose overlay is that much larger (same node bytes), passed as
// another --plan.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pipeline/budget_measure.h"
#include "pipeline/standin_fit.h"
#include "runtime-min/expert_mask.h"

namespace moedist {
namespace {

struct Kind {
  std::string name;
  bool standins = false;
  StandInOptions options;
};

// A kind, optionally followed by ":C" for C proxies per group (proxy kinds only).
Result<Kind> ParseKind(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string s = spec.substr(0, colon);
  if (colon != std::string::npos) {
    int c = 0;
    try {
      c = std::stoi(spec.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if (c < 1 || s.rfind("proxy-", 0) != 0) {
      return Status::InvalidArgument("\"{}\": \":C\" takes C >= 1 and a proxy kind", spec);
    }
    ASSIGN_OR_RETURN(Kind k, ParseKind(s));
    k.name = spec;
    k.options.proxies_per_group = c;
    return k;
  }
  if (s == "mask") return Kind{s, false, {}};
  if (s == "constant") return Kind{s, true, {StandInKind::kConstant, false}};
  if (s == "proxy-average") return Kind{s, true, {StandInKind::kProxyAverage, false}};
  if (s == "proxy-fit") return Kind{s, true, {StandInKind::kProxyFit, false}};
  if (s == "proxy-fit-exact") return Kind{s, true, {StandInKind::kProxyFit, true}};
  return Status::InvalidArgument(
      "unknown kind \"{}\" (expected mask, constant, proxy-average, "
      "proxy-fit or proxy-fit-exact)",
      s);
}

int ExpertsPerNode(const ExpertPlan& plan, const Kind& kind) {
  const LayerPlan& lp = plan.layers.begin()->second;
  size_t most = 0;
  for (const auto& g : lp.groups) most = std::max(most, g.size());
  const int extra = kind.standins && kind.options.kind != StandInKind::kConstant
                        ? (plan.num_groups - 1) * kind.options.proxies_per_group
                        : 0;
  return int(most + lp.overlay.size()) + extra;
}

Status Run(const std::string& ckpt, const std::string& calib, const std::string& eval,
           const std::vector<std::string>& plans, const std::vector<std::string>& kind_names,
           int max_tokens, int place_tokens, const std::string& json_out) {
  std::vector<Kind> kinds;
  for (const auto& k : kind_names) {
    ASSIGN_OR_RETURN(Kind kind, ParseKind(k));
    kinds.push_back(kind);
  }
  ASSIGN_OR_RETURN(MeasureBasis fit, PrepareMeasureBasis(ckpt, calib, 0, max_tokens, 1, 1));
  ASSIGN_OR_RETURN(MeasureBasis basis,
                   PrepareMeasureBasis(ckpt, eval, 0, max_tokens, place_tokens, 1));
  const Model& full = *basis.full_model;
  ASSIGN_OR_RETURN(StandInCalibration cal, RecordStandInCalibration(full, fit.prompts.tokens));
  std::fprintf(stderr, "calibration: %lld tokens; eval: %zu prompts\n", (long long)cal.tokens,
               basis.prompts.tokens.size());
  nlohmann::json out = nlohmann::json::array();
  std::printf("| plan | stand-in | experts/node/layer | worst node | placed | oracle |\n");
  std::printf("| --- | --- | --- | --- | --- | --- |\n");
  for (const std::string& plan_path : plans) {
    ASSIGN_OR_RETURN(ExpertPlan plan, ReadPlanFile(plan_path));
    const std::vector<int> placed = PlaceProbedPrompts(basis.probe, plan);
    for (const Kind& kind : kinds) {
      const auto start = std::chrono::steady_clock::now();
      FittedStandIns fitted;
      if (kind.standins) {
        ASSIGN_OR_RETURN(fitted, FitStandIns(full, plan, cal, kind.options));
      }
      std::vector<std::vector<double>> scores;
      for (int g = 0; g < plan.num_groups; ++g) {
        std::map<int, std::vector<int>> layers;
        for (const auto& [layer, lp] : plan.layers) layers[layer] = plan.NodeExperts(layer, g);
        ASSIGN_OR_RETURN(ExpertMask mask, ExpertMask::FromLayers(full.config(), layers, plan_path));
        if (kind.standins) mask = mask.WithStandIns(NodeStandIns(fitted, plan, g));
        ASSIGN_OR_RETURN(QualityStats q,
                         ScoreEvalPrompts({&full, &mask}, basis.prompts, nullptr, nullptr));
        scores.push_back(std::move(q.prompt_mean_logprob));
      }
      ASSIGN_OR_RETURN(
          SessionQuality sq,
          SummariseSessions(basis.weights, basis.full.prompt_mean_logprob, scores, placed));
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const int per_node = ExpertsPerNode(plan, kind);
      std::printf("| %s | %s | %d | %.4f | %.4f | %.4f |\n", plan_path.c_str(), kind.name.c_str(),
                  per_node, sq.worst_node, sq.placed, sq.oracle);
      std::fflush(stdout);
      nlohmann::json j = SessionQualityToJson(sq);
      j["plan"] = plan_path;
      j["standin"] = kind.name;
      j["experts_per_node_layer"] = per_node;
      j["seconds"] = secs;
      out.push_back(j);
    }
  }
  if (!json_out.empty()) {
    std::ofstream f(json_out);
    f << out.dump(2) << "\n";
    if (!f) return Status::IoError("{}: could not write", json_out);
  }
  return Status::Ok();
}

}  // namespace
}  // namespace moedist

int main(int argc, char** argv) {
  CLI::App app{"standin_compare: plain masking vs stand-ins for absent experts, per plan"};
  std::string ckpt, calib, eval, json_out,
      kinds = "mask,constant,proxy-average,proxy-fit,proxy-fit-exact";
  std::vector<std::string> plans;
  int max_tokens = 256, place_tokens = 64;
  app.add_option("--checkpoint", ckpt, "the full checkpoint")->required();
  app.add_option("--calibration", calib, "suite the stand-ins are fitted on")->required();
  app.add_option("--eval", eval, "held-out suite that scores them")->required();
  app.add_option("--plan", plans, "plan.json (repeatable)")->required();
  app.add_option("--kinds", kinds,
                 "comma-separated: mask, constant, proxy-average, proxy-fit, "
                 "proxy-fit-exact; a proxy kind may end in :C (C proxies per group)");
  app.add_option("--max-tokens", max_tokens, "tokens per prompt");
  app.add_option("--place-tokens", place_tokens, "tokens the placer probes");
  app.add_option("--json", json_out, "write the rows as JSON");
  CLI11_PARSE(app, argc, argv);
  std::vector<std::string> names;
  std::stringstream ss(kinds);
  for (std::string k; std::getline(ss, k, ',');) names.push_back(k);
  moedist::Status s =
      moedist::Run(ckpt, calib, eval, plans, names, max_tokens, place_tokens, json_out);
  if (!s.ok()) {
    std::fprintf(stderr, "standin_compare: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
