#include "pipeline/budget_measure.h"

#include <chrono>
#include <filesystem>

#include "pipeline/calibration_suite.h"
#include "pipeline/node_model.h"
#include "pipeline/pack_release.h"
#include "runtime-min/tokenizer.h"

namespace moedist {
namespace {
namespace fs = std::filesystem;

// The prompts kept when the suite is cut to `count`: round-robin over domains in suite order,
// then back in suite order, so a cut keeps every domain.
EvalPrompts Subset(const EvalPrompts& all, int count) {
  if (count <= 0 || static_cast<size_t>(count) >= all.tokens.size()) return all;
  std::vector<size_t> picked = PickGenerationPrompts(all, count);
  std::sort(picked.begin(), picked.end());
  EvalPrompts out;
  for (size_t i : picked) {
    out.ids.push_back(all.ids[i]);
    out.domains.push_back(all.domains[i]);
    out.tokens.push_back(all.tokens[i]);
  }
  return out;
}

// Bytes of each node directory: its own files plus those of every bundle it reads.
std::vector<uint64_t> NodeBytes(const PackReport& r) {
  std::map<std::string, uint64_t> by_dir;
  for (const PackedFile& f : r.files) {
    by_dir[f.path.substr(0, f.path.find('/'))] += f.size;
  }
  std::vector<uint64_t> out;
  for (const NodeInfo& n : r.nodes) {
    uint64_t bytes = 0;
    for (const std::string& b : n.bundles) bytes += by_dir[b];
    if (std::find(n.bundles.begin(), n.bundles.end(), n.node) == n.bundles.end()) {
      bytes += by_dir[n.node];
    }
    out.push_back(bytes);
  }
  return out;
}

}  // namespace

Result<MeasureBasis> PrepareMeasureBasis(const std::string& checkpoint_dir,
                                         const std::string& suite_path, int max_prompts,
                                         int max_tokens, int place_tokens, int threads) {
  if (max_tokens < 2) return Status::InvalidArgument("measured prompts need at least 2 tokens");
  MeasureBasis b;
  b.checkpoint_dir = checkpoint_dir;
  b.threads = threads;
  ASSIGN_OR_RETURN(CalibrationSuite suite, ReadCalibrationSuite(suite_path));
  ASSIGN_OR_RETURN(std::unique_ptr<Model> full, Model::Open(checkpoint_dir));
  std::optional<Tokenizer> tok;
  const fs::path tok_path = fs::path(checkpoint_dir) / "tokenizer.json";
  if (fs::exists(tok_path)) {
    ASSIGN_OR_RETURN(Tokenizer t, Tokenizer::LoadFile(tok_path.string()));
    tok = std::move(t);
  }
  ASSIGN_OR_RETURN(EvalPrompts all,
                   TokenizeEvalPrompts(suite, tok ? &*tok : nullptr, max_tokens, -1));
  b.prompts = Subset(all, max_prompts);
  for (const auto& t : b.prompts.tokens) b.weights.push_back(static_cast<double>(t.size() - 1));
  ASSIGN_OR_RETURN(b.full, ScoreEvalPrompts({full.get(), nullptr}, b.prompts, nullptr, nullptr));
  ASSIGN_OR_RETURN(b.probe, ProbePlacementRouting(*full, b.prompts.tokens, place_tokens));
  b.full_model = std::move(full);
  return b;
}

Result<std::map<int, double>> MeasureLayerSensitivity(const MeasureBasis& basis,
                                                      const ExpertPlan& plan) {
  if (!basis.full_model) return Status::FailedPrecondition("no full model in the basis");
  const Model& full = *basis.full_model;
  std::map<int, double> out;
  for (const auto& [layer, lp] : plan.layers) {
    double sum = 0;
    for (int g = 0; g < plan.num_groups; ++g) {
      ASSIGN_OR_RETURN(ExpertMask mask,
                       ExpertMask::FromLayers(full.config(), {{layer, plan.NodeExperts(layer, g)}},
                                              "layer sensitivity"));
      ASSIGN_OR_RETURN(QualityStats q,
                       ScoreEvalPrompts({&full, &mask}, basis.prompts, nullptr, nullptr));
      sum += q.mean_logprob - basis.full.mean_logprob;
    }
    out[layer] = sum / plan.num_groups;
  }
  return out;
}

Result<CandidateMeasurement> MeasureCandidate(const MeasureBasis& basis, const ExpertPlan& plan,
                                              const PackRecipe& recipe, const std::string& dir,
                                              bool keep) {
  const auto start = std::chrono::steady_clock::now();
  PackRequest req;
  req.checkpoint_dir = basis.checkpoint_dir;
  req.plan = plan;
  req.recipe = recipe;
  req.out_dir = dir + "/dist";
  req.threads = basis.threads;
  req.release_name = "budget-candidate";
  req.created = "2026-01-01T00:00:00Z";
  req.source_recheck = SourceRecheck::kNone;  // a scratch release, read back at once
  ASSIGN_OR_RETURN(PackReport packed, PackRelease(req));

  CandidateMeasurement m;
  m.node_bytes = NodeBytes(packed);
  for (uint64_t b : m.node_bytes) m.bytes = std::max(m.bytes, b);
  std::vector<std::vector<double>> scores;
  for (const NodeInfo& n : packed.nodes) {
    ASSIGN_OR_RETURN(NodeModel node, OpenNodeModel(req.out_dir, n.node, dir + "/open"));
    ASSIGN_OR_RETURN(QualityStats q, ScoreEvalPrompts({node.model.get(), &node.mask}, basis.prompts,
                                                      nullptr, nullptr));
    scores.push_back(std::move(q.prompt_mean_logprob));
    std::error_code ec;
    if (!node.scratch.empty()) fs::remove_all(node.scratch, ec);
  }
  std::vector<int> placed;
  if (plan.num_groups > 1) placed = PlaceProbedPrompts(basis.probe, plan);
  ASSIGN_OR_RETURN(
      m.quality, SummariseSessions(basis.weights, basis.full.prompt_mean_logprob, scores, placed));
  if (!keep) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return m;
}

}  // namespace moedist
