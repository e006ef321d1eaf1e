#include "pipeline/gate_profiler.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include "formats/checkpoint_inventory.h"
#include "pipeline/calibration_suite.h"
#include "pipeline/profile_accumulator.h"
#include "runtime-min/forward.h"
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
    for (size_t i = 0; i < std::min<size_t>(4, moe_layers.size()); ++i) wanted.insert(moe_layers[i]);
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
      if (b < a) return Status::InvalidArgument("--layers \"{}\": range {}-{} is backwards", spec, a, b);
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

Result<GateProfile> RunGateProfile(const ProfileOptions& o) {
  ASSIGN_OR_RETURN(CalibrationSuite suite, ReadCalibrationSuite(o.suite));
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Open(o.checkpoint));
  const ModelConfig& c = model->config();
  ASSIGN_OR_RETURN(CheckpointInventory inv, InventoryCheckpoint(model->checkpoint(), 0));
  ASSIGN_OR_RETURN(std::vector<int> layers, SelectProfileLayers(o.layers, c.MoeLayers(), c.num_layers));
  if (o.max_tokens_per_prompt < 1) {
    return Status::InvalidArgument("--max-tokens-per-prompt must be at least 1");
  }

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

  GateProfile p;
  p.family = std::string(FamilyName(c.family));
  p.scoring = std::string(ScoringFuncName(c.routing.scoring));
  p.num_layers = c.num_layers;
  p.num_experts = c.routing.num_experts;
  p.top_k = c.routing.top_k;
  p.topm = o.topm > 0 ? std::min(o.topm, p.num_experts) : std::min(p.num_experts, 4 * p.top_k);
  p.moe_layers = c.MoeLayers();
  p.trunk_bytes = inv.trunk_bytes;
  for (const LayerInventory& li : inv.layers) {
    if (li.moe) p.expert_bytes[li.layer] = li.expert_bytes;
  }
  p.checkpoint = o.checkpoint;
  p.suite_path = suite.path;
  p.suite_sha256 = suite.sha256;

  ProfileAccumulator acc(&p, std::set<int>(layers.begin(), layers.end()));
  Sequence seq(*model);
  ForwardOptions fo;
  fo.observer = &acc;
  fo.all_logits = false;
  for (size_t i = 0; i < suite.prompts.size(); ++i) {
    const CalibrationPrompt& prompt = suite.prompts[i];
    std::vector<int32_t> ids = prompt.ids;
    if (!prompt.pretokenized()) {
      auto enc = tokenizer->Encode(prompt.text);
      if (!enc.ok()) return enc.status().WithContext(fmt::format("{}: prompt \"{}\"", o.suite, prompt.id));
      ids = std::move(enc).value();
    }
    if (ids.empty()) {
      return Status::InvalidArgument("{}: prompt \"{}\" encodes to no tokens", o.suite, prompt.id);
    }
    if (static_cast<int>(ids.size()) > o.max_tokens_per_prompt) ids.resize(o.max_tokens_per_prompt);
    acc.BeginPrompt(prompt.id, prompt.domain, static_cast<uint32_t>(ids.size()));
    seq.Reset();
    Status st = Forward(*model, seq, ids, fo, nullptr);
    if (!st.ok()) return st.WithContext(fmt::format("{}: prompt \"{}\"", o.suite, prompt.id));
    if (!acc.first_nonfinite().empty()) {
      return Status::Corruption("{}: router scores are NaN or Inf at {}; refusing to record "
                                "statistics from a broken model",
                                o.checkpoint, acc.first_nonfinite());
    }
    if (o.progress) o.progress(i + 1, suite.prompts.size(), p.tokens);
  }
  return p;
}

}  // namespace moedist
