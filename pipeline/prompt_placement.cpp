#include "pipeline/prompt_placement.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "pipeline/captured_mass.h"
#include "pipeline/profile_accumulator.h"
#include "runtime-min/forward.h"
#include "runtime-min/model.h"
#include "runtime-min/tokenizer.h"

namespace moedist {

Result<PlacementResult> PlacePrompt(const PlacementRequest& r) {
  ASSIGN_OR_RETURN(ExpertPlan plan, ReadPlanFile(r.plan_path));
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Open(r.checkpoint));
  const ModelConfig& c = model->config();
  if (c.routing.num_experts != plan.num_experts) {
    return Status::InvalidArgument("{}: plan for {} experts, but {} has {}", r.plan_path,
                                   plan.num_experts, r.checkpoint, c.routing.num_experts);
  }
  if (r.tokens < 1) return Status::InvalidArgument("--tokens must be at least 1");
  std::vector<int32_t> ids = r.ids;
  if (ids.empty()) {
    if (r.prompt.empty()) return Status::InvalidArgument("empty prompt");
    ASSIGN_OR_RETURN(
        Tokenizer tok,
        Tokenizer::LoadFile((std::filesystem::path(r.checkpoint) / "tokenizer.json").string()));
    ASSIGN_OR_RETURN(ids, tok.Encode(r.prompt));
    if (ids.empty()) return Status::InvalidArgument("the prompt encodes to no tokens");
  }
  if (static_cast<int>(ids.size()) > r.tokens) ids.resize(r.tokens);

  PlacementResult out;
  for (const auto& [layer, lp] : plan.layers) {
    if (lp.profiled) out.layers.push_back(layer);
  }
  if (out.layers.empty()) {
    return Status::InvalidArgument("{}: no layer of the plan was profiled", r.plan_path);
  }
  GateProfile p;
  p.num_experts = c.routing.num_experts;
  p.top_k = c.routing.top_k;
  p.topm = std::min(p.num_experts, 4 * p.top_k);
  ProfileAccumulator acc(&p, std::set<int>(out.layers.begin(), out.layers.end()));
  acc.BeginPrompt("prompt", "prompt", static_cast<uint32_t>(ids.size()));
  Sequence seq(*model);
  ForwardOptions fo;
  fo.observer = &acc;
  fo.all_logits = false;
  RETURN_IF_ERROR(Forward(*model, seq, ids, fo, nullptr));
  if (!acc.first_nonfinite().empty()) {
    return Status::Corruption("router scores are NaN or Inf at {}", acc.first_nonfinite());
  }
  out.scores = CapturedMassByPrompt(p, plan).at(0);
  out.tokens_used = static_cast<int>(ids.size());
  for (size_t g = 0; g < out.scores.size(); ++g) out.nodes.push_back(fmt::format("node-{}", g));
  ChooseNode(out);
  return out;
}

void ChooseNode(PlacementResult& out) {
  if (out.scores.empty()) return;
  std::vector<double> sorted = out.scores;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  out.chosen =
      static_cast<int>(std::max_element(out.scores.begin(), out.scores.end()) - out.scores.begin());
  out.margin = sorted.size() > 1 ? sorted[0] - sorted[1] : sorted[0];
}

nlohmann::json PlacementToJson(const PlacementResult& r) {
  return {{"scores", r.scores},
          {"node", r.chosen},
          {"node_id", r.chosen < static_cast<int>(r.nodes.size()) ? r.nodes[r.chosen] : ""},
          {"nodes", r.nodes},
          {"margin", r.margin},
          {"tokens", r.tokens_used},
          {"layers", r.layers}};
}

}  // namespace moedist
