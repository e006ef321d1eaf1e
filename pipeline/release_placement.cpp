#include "pipeline/release_placement.h"

#include <filesystem>
#include <set>

#include "core/mapped_file.h"
#include "manifest/file_digest.h"
#include "pipeline/captured_mass.h"
#include "pipeline/profile_accumulator.h"
#include "runtime-min/layer_stream.h"

namespace moedist {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTrunkBundle = "trunk";
constexpr std::string_view kTokenizerFile = "tokenizer.json";
constexpr uint64_t kMaxTokenizerBytes = 256ull << 20;

// The release's tokenizer.json: the trunk's, else the first node bundle's that lists one, read
// once and, unless nothing is verified, checked against the manifest's size and SHA-256 (the
// bytes parsed are the bytes hashed). Empty when the release has none.
Result<std::optional<Tokenizer>> LoadReleaseTokenizer(const std::string& dist,
                                                      const Distribution& d, bool check,
                                                      std::string& source) {
  std::vector<std::string> order = {std::string(kTrunkBundle)};
  for (const NodeEntry& n : d.nodes) {
    for (const std::string& b : n.bundles) order.push_back(b);
  }
  for (const std::string& bundle : order) {
    auto it = d.bundles.find(bundle);
    if (it == d.bundles.end()) continue;
    for (const ManifestFile& f : it->second.files) {
      if (f.path != kTokenizerFile) continue;
      source = (fs::path(dist) / bundle / f.path).string();
      ASSIGN_OR_RETURN(std::string text, ReadSmallFile(source, kMaxTokenizerBytes));
      if (check) {
        ASSIGN_OR_RETURN(std::string sha, Sha256Hex(std::string_view(text)));
        if (text.size() != f.size || sha != f.sha256) {
          return Status::Corruption(
              "{}: verification failed: {} bytes with SHA-256 {}, distribution.json says {} "
              "bytes with SHA-256 {}",
              source, text.size(), sha, f.size, f.sha256);
        }
      }
      ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::FromJsonText(text, source));
      return std::optional<Tokenizer>(std::move(tok));
    }
  }
  return std::optional<Tokenizer>();
}

}  // namespace

ExpertPlan PlanOfRelease(const Distribution& d, const ModelConfig& config) {
  ExpertPlan plan;
  plan.num_experts = config.routing.num_experts;
  plan.top_k = config.routing.top_k;
  for (const auto& [layer, part] : d.PartitionLayers()) {
    LayerPlan lp;
    for (const auto& g : part.groups) lp.groups.emplace_back(g.begin(), g.end());
    lp.overlay.assign(part.overlay.begin(), part.overlay.end());
    plan.num_groups = static_cast<int>(lp.groups.size());
    plan.layers[static_cast<int>(layer)] = std::move(lp);
  }
  return plan;
}

Result<std::unique_ptr<ReleasePlacer>> ReleasePlacer::Open(const ReleasePlacerOptions& o) {
  std::unique_ptr<ReleasePlacer> p(new ReleasePlacer());
  ASSIGN_OR_RETURN(p->trust_,
                   CheckRelease(o.dist_dir, o.trust, std::nullopt, {std::string(kTrunkBundle)}));
  const std::string manifest_path = (fs::path(o.dist_dir) / kManifestFileName).string();
  ASSIGN_OR_RETURN(std::string manifest, ReadManifestFile(manifest_path));
  ASSIGN_OR_RETURN(Distribution d, ParseDistribution(manifest, manifest_path));
  if (!d.bundles.count(std::string(kTrunkBundle))) {
    return Status::Corruption("{}: no \"trunk\" bundle: not a release written by moedist pack",
                              manifest_path);
  }
  const std::string trunk_dir = (fs::path(o.dist_dir) / kTrunkBundle).string();
  ASSIGN_OR_RETURN(p->trunk_, Model::Open(trunk_dir, CheckpointOpenOptions{o.dist_dir}));
  const ModelConfig& c = p->trunk_->config();
  const std::vector<int> moe = c.MoeLayers();
  if (moe.empty()) return Status::Unsupported("{}: the model has no MoE layer", trunk_dir);
  p->probe_layer_ = moe.front();
  p->plan_ = PlanOfRelease(d, c);
  auto probed = p->plan_.layers.find(p->probe_layer_);
  if (probed == p->plan_.layers.end()) {
    return Status::Corruption("{}: partition.layers has no entry for MoE layer {}", manifest_path,
                              p->probe_layer_);
  }
  for (auto& [layer, lp] : p->plan_.layers) lp.profiled = layer == p->probe_layer_;
  for (int g = 0; g < p->plan_.num_groups; ++g) {
    const std::string id = fmt::format("node-{}", g);
    if (d.FindNode(id) == nullptr) {
      return Status::Corruption("{}: the partition has {} groups but no node \"{}\"", manifest_path,
                                p->plan_.num_groups, id);
    }
    p->nodes_.push_back(id);
  }
  ASSIGN_OR_RETURN(p->tokenizer_,
                   LoadReleaseTokenizer(o.dist_dir, d, p->trust_ != ReleaseTrust::kNotChecked,
                                        p->tokenizer_source_));
  return p;
}

Result<PlacementResult> ReleasePlacer::PlaceText(const std::string& text, int tokens) const {
  if (!tokenizer_) {
    return Status::NotFound("the release has no tokenizer.json: pass token ids instead");
  }
  if (text.empty()) return Status::InvalidArgument("empty prompt");
  ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer_->Encode(text));
  if (ids.empty()) return Status::InvalidArgument("the prompt encodes to no tokens");
  return Place(std::move(ids), tokens);
}

Result<PlacementResult> ReleasePlacer::Place(std::vector<int32_t> ids, int tokens) const {
  if (tokens < 1) return Status::InvalidArgument("tokens must be at least 1");
  if (ids.empty()) return Status::InvalidArgument("the prompt has no tokens");
  if (static_cast<int>(ids.size()) > tokens) ids.resize(tokens);
  const ModelConfig& c = trunk_->config();
  GateProfile profile;
  profile.num_experts = c.routing.num_experts;
  profile.top_k = c.routing.top_k;
  profile.topm = std::min(profile.num_experts, 4 * profile.top_k);
  ProfileAccumulator acc(&profile, {probe_layer_});
  acc.BeginPrompt("prompt", "prompt", static_cast<uint32_t>(ids.size()));
  LayerStreamOptions lo;
  lo.last_layer = probe_layer_;
  lo.route_only_last_layer = true;
  lo.observer = &acc;
  const std::vector<std::vector<int32_t>> prompts = {std::move(ids)};
  RETURN_IF_ERROR(ForwardLayerMajor(*trunk_, prompts, lo));
  if (!acc.first_nonfinite().empty()) {
    return Status::Corruption("router scores are NaN or Inf at {}", acc.first_nonfinite());
  }
  PlacementResult out;
  out.scores = CapturedMassByPrompt(profile, plan_).at(0);
  out.tokens_used = static_cast<int>(prompts[0].size());
  out.layers = {probe_layer_};
  out.nodes = nodes_;
  ChooseNode(out);
  return out;
}

}  // namespace moedist
