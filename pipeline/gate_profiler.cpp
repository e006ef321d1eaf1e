#include "pipeline/gate_profiler.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>
#include <set>

#include "core/process_memory.h"
#include "formats/checkpoint_inventory.h"
#include "pipeline/calibration_suite.h"
#include "pipeline/imatrix_recorder.h"
#include "pipeline/profile_accumulator.h"
#include "pipeline/profile_memory.h"
#include "pipeline/profile_passes.h"
#include "runtime-min/forward_footprint.h"
#include "runtime-min/model.h"
#include "runtime-min/tokenizer.h"

namespace moedist {
namespace {

Result<int> ParseLayerNumber(std::string_view s, int num_layers, const std::string& spec) {
  int v = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v >= num_layers) {
    return Status::InvalidArgument("--layers \"{}\": \"{}\" is not a layer in 0..{}", spec, s,
                                   num_layers - 1);
  }
  return v;
}

}  // namespace

Result<std::vector<int>> SelectProfileLayers(const std::string& spec,
                                             const std::vector<int>& moe_layers, int num_layers) {
  std::set<int> wanted;
  if (spec.empty()) {
    for (size_t i = 0; i < std::min<size_t>(4, moe_layers.size()); ++i)
      wanted.insert(moe_layers[i]);
  } else if (spec == "all") {
    wanted.insert(moe_layers.begin(), moe_layers.end());
  } else {
    std::string_view rest = spec;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      size_t dash = item.find('-');
      ASSIGN_OR_RETURN(int a, ParseLayerNumber(item.substr(0, dash), num_layers, spec));
      int b = a;
      if (dash != std::string_view::npos) {
        ASSIGN_OR_RETURN(b, ParseLayerNumber(item.substr(dash + 1), num_layers, spec));
      }
      if (b < a)
        return Status::InvalidArgument("--layers \"{}\": range {}-{} is backwards", spec, a, b);
      for (int l = a; l <= b; ++l) {
        if (std::binary_search(moe_layers.begin(), moe_layers.end(), l)) wanted.insert(l);
      }
    }
  }
  if (wanted.empty()) {
    return Status::InvalidArgument("--layers \"{}\" selects no MoE layer (MoE layers: {})", spec,
                                   fmt::join(moe_layers, ","));
  }
  return std::vector<int>(wanted.begin(), wanted.end());
}

namespace {

// The suite's prompts as token ids, each truncated to max_tokens_per_prompt. The tokenizer is
// loaded only when a prompt has text, and dropped before the model runs.
Result<std::vector<std::vector<int32_t>>> TokenizeSuite(const CalibrationSuite& suite,
                                                        const ProfileOptions& o) {
  std::optional<Tokenizer> tokenizer;
  const bool needs_tokenizer = std::any_of(suite.prompts.begin(), suite.prompts.end(),
                                           [](const auto& p) { return !p.pretokenized(); });
  if (needs_tokenizer) {
    const std::string path = (std::filesystem::path(o.checkpoint) / "tokenizer.json").string();
    auto tok = Tokenizer::LoadFile(path);
    if (!tok.ok()) {
      return tok.status().WithContext(fmt::format(
          "{} has text prompts, which need the checkpoint's tokenizer.json (or give \"ids\")",
          o.suite));
    }
    tokenizer = std::move(tok).value();
  }
  std::vector<std::vector<int32_t>> all;
  for (const CalibrationPrompt& prompt : suite.prompts) {
    std::vector<int32_t> ids = prompt.ids;
    if (!prompt.pretokenized()) {
      auto enc = tokenizer->Encode(prompt.text);
      if (!enc.ok())
        return enc.status().WithContext(fmt::format("{}: prompt \"{}\"", o.suite, prompt.id));
      ids = std::move(enc).value();
    }
    if (ids.empty()) {
      return Status::InvalidArgument("{}: prompt \"{}\" encodes to no tokens", o.suite, prompt.id);
    }
    if (static_cast<int>(ids.size()) > o.max_tokens_per_prompt) ids.resize(o.max_tokens_per_prompt);
    all.push_back(std::move(ids));
  }
  return all;
}

uint64_t DistinctTokens(const std::vector<std::vector<int32_t>>& ids) {
  std::vector<int32_t> all;
  for (const auto& v : ids) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  return static_cast<uint64_t>(std::unique(all.begin(), all.end()) - all.begin());
}

}  // namespace

Result<GateProfile> RunGateProfile(const ProfileOptions& o) {
  ASSIGN_OR_RETURN(CalibrationSuite suite, ReadCalibrationSuite(o.suite));
  if (o.max_tokens_per_prompt < 1) {
    return Status::InvalidArgument("--max-tokens-per-prompt must be at least 1");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Open(o.checkpoint));
  const ModelConfig& c = model->config();
  ASSIGN_OR_RETURN(CheckpointInventory inv, InventoryCheckpoint(model->checkpoint(), 0));
  ASSIGN_OR_RETURN(std::vector<int> layers,
                   SelectProfileLayers(o.layers, c.MoeLayers(), c.num_layers));
  ASSIGN_OR_RETURN(std::vector<std::vector<int32_t>> ids, TokenizeSuite(suite, o));

  GateProfile p;
  p.family = std::string(FamilyName(c.family));
  p.scoring = std::string(ScoringFuncName(c.routing.scoring));
  p.num_layers = c.num_layers;
  p.num_experts = c.routing.num_experts;
  p.top_k = c.routing.top_k;
  if (c.routing.n_group > 1) {
    p.router_groups = c.routing.n_group;
    p.router_groups_used = c.routing.topk_group;
  }
  p.topm = o.topm > 0 ? std::min(o.topm, p.num_experts) : std::min(p.num_experts, 4 * p.top_k);
  p.moe_layers = c.MoeLayers();
  p.trunk_bytes = inv.trunk_bytes;
  for (const LayerInventory& li : inv.layers) {
    if (li.moe) p.expert_bytes[li.layer] = li.expert_bytes;
  }
  p.checkpoint = o.checkpoint;
  p.suite_path = suite.path;
  p.suite_sha256 = suite.sha256;

  // Memory: estimate both orders before any weight is touched, choose, or refuse.
  ASSIGN_OR_RETURN(WeightPages pages, WeightPages::Build(model->checkpoint()));
  ForwardWorkload work;
  for (const auto& v : ids) work.prompt_tokens.push_back(static_cast<int>(v.size()));
  work.distinct_tokens = DistinctTokens(ids);
  // The importance matrix needs every layer; gate statistics only up to the last profiled one.
  const int last_layer = o.imatrix ? c.num_layers - 1 : layers.back();
  work.last_layer = last_layer;
  std::set<std::string> domains;
  for (const CalibrationPrompt& prompt : suite.prompts) domains.insert(prompt.domain);
  ProfileShape shape;
  shape.prompts = ids.size();
  shape.domains = domains.size();
  shape.layers = layers.size();
  shape.experts = static_cast<uint64_t>(p.num_experts);
  shape.topm = static_cast<uint64_t>(p.topm);
  for (int n : work.prompt_tokens) shape.tokens += static_cast<uint64_t>(n);
  Result<ProcessMemory> now = ReadProcessMemory();
  if (!now.ok() && o.max_rss > 0) return now.status().WithContext("--max-rss");
  const uint64_t held = now.ok() ? std::max(now->rss_bytes, now->peak_bytes) : 0;
  const uint64_t statistics =
      ProfileStatisticsBytes(shape) + (o.imatrix ? ImatrixRecorderBytes(*model) : 0);
  ASSIGN_OR_RETURN(ProfileMemoryPlan plan,
                   PlanProfileMemory(EstimatePromptByPrompt(*model, pages, work),
                                     EstimateLayerMajor(*model, pages, work), held, statistics,
                                     o.max_rss, o.stream_layers));
  p.execution = {plan.layer_stream ? "layer-stream" : "prompt-by-prompt", o.max_rss,
                 plan.estimate(), 0};

  ProfileAccumulator acc(&p, std::set<int>(layers.begin(), layers.end()));
  std::optional<ImatrixRecorder> recorder;
  if (o.imatrix) recorder.emplace(c.num_layers, c.routing.num_experts);
  ActivationObserver* activations = recorder ? &*recorder : nullptr;
  if (plan.layer_stream) {
    RETURN_IF_ERROR(RunLayerStream(*model, pages, suite, ids, o, last_layer, plan.estimate(), acc,
                                   p, activations));
  } else {
    RETURN_IF_ERROR(RunPromptByPrompt(*model, suite, ids, o, plan.estimate(), acc, p, activations));
  }
  if (recorder) {
    if (!recorder->error().empty()) return Status::Internal("imatrix: {}", recorder->error());
    *o.imatrix = recorder->ToImatrix();
    o.imatrix->datasets = {suite.path};
    o.imatrix->chunk_count = static_cast<uint32_t>(ids.size());
    o.imatrix->chunk_size = static_cast<uint32_t>(o.max_tokens_per_prompt);
  }
  if (Result<ProcessMemory> end = ReadProcessMemory(); end.ok()) {
    p.execution.peak_rss = end->peak_bytes;
  }
  return p;
}

}  // namespace moedist
