#include "pipeline/pack_release.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "formats/hf_checkpoint.h"
#include "formats/tensor_taxonomy.h"
#include "manifest/build_distribution.h"
#include "manifest/file_digest.h"
#include "manifest/release_path.h"
#include "manifest/release_stage.h"
#include "manifest/release_time.h"
#include "manifest/release_tree.h"
#include "pipeline/bundle_writer.h"
#include "pipeline/gguf_node_export.h"
#include "pipeline/pack_output_dir.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxAuxFileBytes = 64ull << 20;

// Deletes every file under the staged release `dir` not in `keep`, then the directories left
// empty (the staging directory is this pack's own).
Status RemoveUnlisted(const std::string& dir, const std::set<std::string>& keep) {
  ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ListTree(dir));
  std::vector<std::string> dirs;
  for (const TreeEntry& e : entries) {
    const std::string path = dir + "/" + e.path;
    if (e.kind == TreeEntry::kDirectory) {
      dirs.push_back(path);
    } else if (!keep.count(e.path) && ::unlink(path.c_str()) != 0) {
      return Status::IoError("{}: cannot remove: {}", path, std::strerror(errno));
    }
  }
  std::sort(dirs.rbegin(), dirs.rend());                 // deepest first
  for (const std::string& d : dirs) ::rmdir(d.c_str());  // fails, as wanted, unless empty
  return Status::Ok();
}

// The files of a release directory, relative to it.
Result<std::vector<std::string>> ReleaseFilePaths(const std::string& dir) {
  ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ListTree(dir));
  std::vector<std::string> files;
  for (const TreeEntry& e : entries) {
    if (e.kind == TreeEntry::kFile) files.push_back(e.path);
  }
  return files;
}

// Counts tensors as they are written and runs the test hook.
void WrapProducers(ReleaseLayout& layout, const std::function<Status(uint64_t)>& hook,
                   std::atomic<uint64_t>* count) {
  auto wrap = [&](BundleTensor& t) {
    auto inner = std::move(t.produce);
    t.produce = [inner, hook, count](ByteSink& sink) -> Status {
      RETURN_IF_ERROR(inner(sink));
      const uint64_t n = count->fetch_add(1) + 1;
      return hook ? hook(n) : Status::Ok();
    };
  };
  for (BundlePlan& b : layout.bundles) {
    for (BundleTensor& t : b.tensors) wrap(t);
  }
  for (NodePlan& n : layout.nodes) {
    for (BundleTensor& t : n.shard.tensors) wrap(t);
  }
}

Result<ReleaseInfo> MakeReleaseInfo(const PackRequest& req, const ModelConfig& cfg) {
  ReleaseInfo r;
  r.name = req.release_name.empty() ? fmt::format("{}-{}x", cfg.model_type, req.plan.num_groups)
                                    : req.release_name;
  RETURN_IF_ERROR(CheckReleaseName(r.name, "release name"));
  if (req.release_version < 1) return Status::InvalidArgument("release version must be >= 1");
  r.version = req.release_version;
  int64_t created = NowUnixSeconds();
  if (!req.created.empty()) {
    ASSIGN_OR_RETURN(created, ParseRfc3339Utc(req.created, "--created"));
  }
  r.created = FormatRfc3339Utc(created);
  int64_t expires = created + int64_t{req.valid_days} * 86400;
  if (!req.expires.empty()) {
    ASSIGN_OR_RETURN(expires, ParseRfc3339Utc(req.expires, "--expires"));
  }
  if (expires <= created) {
    return Status::InvalidArgument("release expiry {} is not after its creation {}",
                                   FormatRfc3339Utc(expires), r.created);
  }
  r.expires = FormatRfc3339Utc(expires);
  return r;
}

// The checkpoint files pack reads: config.json, the index (or model.safetensors), the shards and
// the tokenizer files copied into nodes. Relative to the checkpoint directory.
std::vector<std::string> SourceFiles(const Checkpoint& ckpt, const ReleaseLayout& layout) {
  std::set<std::string> files = {"config.json"};
  std::error_code ec;
  if (fs::exists(fs::path(ckpt.dir()) / "model.safetensors.index.json", ec)) {
    files.insert("model.safetensors.index.json");
  }
  for (const auto& shard : ckpt.shards()) files.insert(fs::path(shard->path()).filename().string());
  for (const std::string& aux : layout.aux_files) files.insert(aux);
  return {files.begin(), files.end()};
}

nlohmann::json RoutingSection(const ModelConfig& c) {
  const RoutingConfig& r = c.routing;
  return {{"scoring", ScoringFuncName(r.scoring)},
          {"num_experts", r.num_experts},
          {"top_k", r.top_k},
          {"norm_topk_prob", r.norm_topk_prob},
          {"num_shared_experts", r.num_shared_experts},
          {"n_group", r.n_group},
          {"topk_group", r.topk_group},
          {"topk_method", r.topk_method},
          {"correction_bias", r.correction_bias},
          {"routed_scaling_factor", r.routed_scaling_factor},
          {"moe_layers", c.MoeLayers()}};
}

struct ShardJob {
  const BundlePlan* plan;
  const BundleShard* shard;
};

// Writes and re-reads every shard, `threads` at a time, largest first. Results in job order.
Result<std::vector<WrittenFile>> WriteShards(const std::string& dist, std::vector<ShardJob> jobs,
                                             int threads) {
  std::stable_sort(jobs.begin(), jobs.end(), [](const ShardJob& a, const ShardJob& b) {
    return a.shard->tensor_bytes > b.shard->tensor_bytes;
  });
  std::vector<WrittenFile> written(jobs.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first_error;
  auto work = [&] {
    while (!failed.load()) {
      const size_t i = next.fetch_add(1);
      if (i >= jobs.size()) return;
      Result<WrittenFile> w = WriteBundleShard(dist, *jobs[i].plan, *jobs[i].shard);
      Status st = w.ok() ? CheckBundleShard(dist, *jobs[i].plan, *jobs[i].shard) : w.status();
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = st;
        failed = true;
        return;
      }
      written[i] = std::move(w).value();
    }
  };
  const size_t n =
      std::clamp<size_t>(threads < 1 ? 1 : threads, 1, std::max<size_t>(1, jobs.size()));
  if (n == 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (size_t t = 0; t < n; ++t) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
  }
  if (!first_error.ok()) return first_error;
  return written;
}

std::string ShapeText(const std::vector<uint64_t>& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

// Re-opens a written node the way a runtime will and checks it exposes exactly the plan.
Status CheckNode(const std::string& dist, const NodePlan& node) {
  const std::string dir = (fs::path(dist) / node.info.node).string();
  ASSIGN_OR_RETURN(auto ckpt, Checkpoint::Open(dir, CheckpointOpenOptions{dist}));
  if (!ckpt->warnings().empty()) {
    return Status::Corruption("{}: {}", dir, ckpt->warnings().front());
  }
  if (ckpt->tensors().size() != node.exposed.size()) {
    return Status::Corruption("{}: exposes {} tensors, pack planned {}", dir,
                              ckpt->tensors().size(), node.exposed.size());
  }
  for (const auto& [name, want] : node.exposed) {
    const CheckpointTensor* t = ckpt->Find(name);
    if (t == nullptr || t->dtype() != want.dtype || t->shape() != want.shape) {
      return Status::Corruption("{}: tensor \"{}\" is not exposed as planned ({} {})", dir, name,
                                DTypeName(want.dtype), ShapeText(want.shape));
    }
    const auto& meta = t->shard->metadata();
    auto q = meta.find(std::string(kQuantMetadataPrefix) + t->info->name);
    const std::string got = q == meta.end() ? "" : q->second;
    if (got != want.quant) {
      return Status::Corruption("{}: tensor \"{}\" has quant metadata \"{}\", planned \"{}\"", dir,
                                name, got, want.quant);
    }
  }
  ASSIGN_OR_RETURN(NodeInfo info, ReadNodeInfo(dir));
  if (NodeInfoToJson(info) != NodeInfoToJson(node.info)) {
    return Status::Corruption("{}: {} reads back differently", dir, kNodeInfoFile);
  }
  return Status::Ok();
}

}  // namespace

nlohmann::json PackReportToJson(const PackReport& r) {
  nlohmann::json files = nlohmann::json::array();
  for (const PackedFile& f : r.files) {
    files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  }
  nlohmann::json fallbacks = nlohmann::json::array();
  for (const TensorDecision& d : r.fallbacks) {
    fallbacks.push_back({{"tensor", d.tensor},
                         {"bundle", d.bundle},
                         {"class", d.recipe_class},
                         {"requested", d.choice.requested.Name()},
                         {"stored", d.choice.stored.Name()},
                         {"rule", d.choice.rule},
                         {"why", d.choice.note}});
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (const NodeInfo& n : r.nodes) nodes.push_back(NodeInfoToJson(n));
  nlohmann::json out = {{"out", r.out_dir},
                        {"bundles", r.bundles},
                        {"bundle_bytes", r.bundle_bytes},
                        {"stored_types", r.stored_types},
                        {"files", files},
                        {"fallbacks", fallbacks},
                        {"nodes", nodes},
                        {"removed", r.removed},
                        {"warnings", r.warnings},
                        {"tensors_written", r.tensors_written},
                        {"bytes_written", r.bytes_written},
                        {"seconds", r.seconds}};
  if (!r.imatrix_sha256.empty()) {
    out["imatrix"] = {{"sha256", r.imatrix_sha256}, {"tensors_weighted", r.imatrix_weighted}};
  }
  return out;
}

std::optional<SourceRecheck> ParseSourceRecheck(std::string_view name) {
  if (name == "none") return SourceRecheck::kNone;
  if (name == "stamp") return SourceRecheck::kStamp;
  if (name == "digest") return SourceRecheck::kDigest;
  return std::nullopt;
}

// distribution.json's facts of a shared bundle: its kind ("trunk", "group", "overlay",
// "expert" with its layer and id) and tensor count.
nlohmann::json BundleFacts(const BundlePlan& b, const ReleaseLayout& layout) {
  nlohmann::json facts = {{"tensors", b.tensors.size()}};
  if (auto it = layout.expert_bundles.find(b.name); it != layout.expert_bundles.end()) {
    facts["kind"] = "expert";
    facts["layer"] = it->second.first;
    facts["expert"] = it->second.second;
  } else {
    facts["kind"] = b.name.starts_with("group-") ? "group" : b.name;
  }
  return facts;
}

Result<PackReport> PackRelease(const PackRequest& req) {
  const auto start = std::chrono::steady_clock::now();
  const std::string& dist = req.out_dir;
  // 1. Plan everything before touching the output.
  ASSIGN_OR_RETURN(auto ckpt, Checkpoint::Open(req.checkpoint_dir));
  const ModelConfig& cfg = ckpt->config();
  ASSIGN_OR_RETURN(std::vector<ClassifiedTensor> classified, ClassifyCheckpoint(*ckpt));
  RETURN_IF_ERROR(CheckPlanFitsModel(req.plan, cfg)
                      .WithContext(req.plan_source.empty() ? "plan" : req.plan_source));
  std::optional<PackImatrix> imatrix;
  if (!req.imatrix_path.empty()) {
    ASSIGN_OR_RETURN(imatrix, PackImatrix::Load(req.imatrix_path, *ckpt, classified));
  }
  std::optional<StandInFile> standins;
  if (!req.plan.standins_file.empty()) {
    ASSIGN_OR_RETURN(standins, ReadStandInFile(req.plan.standins_file, req.plan, cfg.hidden_size,
                                               cfg.moe_intermediate_size));
  }
  if (req.layout == PackLayoutKind::kExperts && req.format == NodeFileFormat::kGguf) {
    return Status::InvalidArgument(
        "--layout experts with --format gguf: a node GGUF is one file holding each layer's "
        "experts as one tensor, so there are no expert files to lay out (use --format both to "
        "get expert bundles and node GGUFs)");
  }
  ASSIGN_OR_RETURN(ReleaseLayout layout,
                   PlanRelease(*ckpt, classified, req.plan, req.recipe,
                               {req.layout, req.shard_bytes, imatrix ? &*imatrix : nullptr,
                                standins ? &*standins : nullptr}));
  if (req.format != NodeFileFormat::kSafetensors) {
    std::vector<NodeInfo> infos;
    for (const NodePlan& n : layout.nodes) infos.push_back(n.info);
    RETURN_IF_ERROR(CheckNodesExpressibleAsGguf(req.checkpoint_dir, infos));
  }
  std::atomic<uint64_t> tensors_written{0};
  WrapProducers(layout, req.after_tensor, &tensors_written);
  DistributionSections sections;
  ASSIGN_OR_RETURN(sections.release, MakeReleaseInfo(req, cfg));

  // 2. Lock the release, stage the new one beside it (manifest/release_stage.h); describe the
  // source. Every file is written under `out`; DIST changes only at the switch in step 7.
  ASSIGN_OR_RETURN(FileLock lock, LockRelease(dist));
  std::vector<std::string> old_files;
  if (fs::is_directory(dist)) {
    RETURN_IF_ERROR(CheckReleaseDirContents(dist));
    ASSIGN_OR_RETURN(old_files, ReleaseFilePaths(dist));
  }
  ASSIGN_OR_RETURN(ReleaseStage stage, ReleaseStage::Begin(dist, ReleaseStage::Seed::kEmpty));
  const std::string& out = stage.path();
  BuildOptions build{req.threads};
  const std::vector<std::string> source_files = SourceFiles(*ckpt, layout);
  std::vector<FileStamp> source_stamps;
  ASSIGN_OR_RETURN(sections.source.files,
                   DescribeFiles(req.checkpoint_dir, source_files, build, &source_stamps));
  sections.source.family = std::string(FamilyName(cfg.family));
  sections.source.facts = {{"model_type", cfg.model_type}, {"architecture", cfg.architecture}};
  std::vector<std::string> dirs;
  for (const BundlePlan& b : layout.bundles) dirs.push_back(b.name);
  for (const NodePlan& n : layout.nodes) dirs.push_back(n.info.node);
  for (const std::string& d : dirs) {
    std::error_code ec;
    fs::create_directories(fs::path(out) / d, ec);
    if (ec) return Status::IoError("{}/{}: cannot create: {}", out, d, ec.message());
  }

  // 3. Shards.
  std::vector<ShardJob> jobs;
  for (const BundlePlan& b : layout.bundles) {
    for (const BundleShard& s : b.shards) jobs.push_back({&b, &s});
  }
  for (const NodePlan& n : layout.nodes) {
    for (const BundleShard& s : n.shard.shards) jobs.push_back({&n.shard, &s});
  }
  ASSIGN_OR_RETURN(std::vector<WrittenFile> written, WriteShards(out, jobs, req.threads));

  // 4. Small files, then the strict re-reads.
  auto text_file = [&](const std::string& rel, std::string_view content) -> Status {
    ASSIGN_OR_RETURN(WrittenFile f, WriteReleaseTextFile(out, rel, content));
    written.push_back(std::move(f));
    return Status::Ok();
  };
  for (const BundlePlan& b : layout.bundles) {
    if (!b.write_index) continue;
    RETURN_IF_ERROR(text_file(b.name + "/" + std::string(kBundleIndexFile), BundleIndexText(b)));
    RETURN_IF_ERROR(CheckBundleIndex(out, b));
  }
  {
    // The trunk carries the original config.json, so it describes the full model on its own.
    ASSIGN_OR_RETURN(
        std::string config,
        ReadSmallFile((fs::path(req.checkpoint_dir) / "config.json").string(), 16ull << 20));
    RETURN_IF_ERROR(text_file("trunk/config.json", config));
  }
  for (const NodePlan& n : layout.nodes) {
    const std::string d = n.info.node + "/";
    RETURN_IF_ERROR(text_file(d + std::string(kBundleIndexFile), n.index_text));
    RETURN_IF_ERROR(text_file(d + "config.json", n.config_text));
    RETURN_IF_ERROR(
        text_file(d + std::string(kNodeInfoFile), DumpJsonStable(NodeInfoToJson(n.info)) + "\n"));
    if (n.info.mode == NodeMode::kMask) {
      RETURN_IF_ERROR(text_file(d + std::string(kNodeMaskFile), NodeMaskText(n.info)));
    }
    for (const std::string& aux : layout.aux_files) {
      ASSIGN_OR_RETURN(
          std::string content,
          ReadSmallFile((fs::path(req.checkpoint_dir) / aux).string(), kMaxAuxFileBytes));
      RETURN_IF_ERROR(text_file(d + aux, content));
    }
    RETURN_IF_ERROR(CheckNode(out, n));
  }
  std::vector<std::string> gguf_warnings;
  if (req.format != NodeFileFormat::kSafetensors) {
    std::vector<NodeInfo> infos;
    for (const NodePlan& n : layout.nodes) infos.push_back(n.info);
    ASSIGN_OR_RETURN(std::vector<WrittenFile> ggufs,
                     WriteNodeGgufs(out, req.checkpoint_dir, infos, gguf_warnings));
    if (req.format == NodeFileFormat::kGguf) written.clear();
    for (WrittenFile& f : ggufs) written.push_back(std::move(f));
  }

  // 5. The files of the earlier release this one no longer has; the source must not have
  // changed meanwhile.
  std::set<std::string> keep;
  for (const WrittenFile& f : written) keep.insert(f.path);
  // --format gguf keeps only the node GGUFs: the bundle files they were made from go.
  RETURN_IF_ERROR(RemoveUnlisted(out, keep));
  PackReport report;
  for (const std::string& f : old_files) {
    if (!keep.count(f) && f != kManifestFileName && f != kSignatureFileName)
      report.removed.push_back(f);
  }
  if (req.source_recheck == SourceRecheck::kDigest) {
    RETURN_IF_ERROR(CheckFilesUnchanged(req.checkpoint_dir, sections.source.files, build));
  } else if (req.source_recheck == SourceRecheck::kStamp) {
    RETURN_IF_ERROR(
        CheckFilesUnchangedSince(req.checkpoint_dir, sections.source.files, source_stamps));
  }

  // 6. distribution.json, last.
  sections.routing = RoutingSection(cfg);
  sections.calibration = {{"plan_strategy", req.plan.strategy}};
  if (!req.plan_source.empty()) {
    auto plan_text = ReadSmallFile(req.plan_source, 64ull << 20);
    if (plan_text.ok()) {
      ASSIGN_OR_RETURN(sections.calibration["plan_sha256"], Sha256Hex(*plan_text));
      auto pj = ParseJsonStrict(*plan_text, req.plan_source);
      if (pj.ok() && pj->contains("profile")) sections.calibration["profile"] = (*pj)["profile"];
    }
  }
  nlohmann::json part_layers = nlohmann::json::object(), overlay_sizes = nlohmann::json::object();
  for (const auto& [layer, lp] : req.plan.layers) {
    part_layers[std::to_string(layer)] = {{"groups", lp.groups}, {"overlay", lp.overlay}};
    overlay_sizes[std::to_string(layer)] = lp.overlay.size();
  }
  sections.partition = {{"layers", part_layers},
                        {"layout", PackLayoutKindName(req.layout)},
                        {"num_groups", req.plan.num_groups},
                        {"strategy", req.plan.strategy}};
  sections.overlay = {{"experts_per_layer", overlay_sizes}};
  sections.recipe = {{"recipe", req.recipe.source}};
  if (imatrix) {
    sections.recipe["imatrix"] = {
        {"sha256", imatrix->sha256()},
        {"file", std::filesystem::path(imatrix->path()).filename().string()},
        {"entries", imatrix->entries()},
        {"datasets", imatrix->datasets()},
        {"chunk_count", imatrix->chunk_count()},
        {"tensors_weighted", layout.imatrix_weighted}};
  }
  const bool gguf_only = req.format == NodeFileFormat::kGguf;
  for (const BundlePlan& b : layout.bundles) {
    if (gguf_only) break;  // the node GGUFs are self-contained; no shared bundles are kept
    sections.bundle_facts[b.name] = BundleFacts(b, layout);
  }
  for (const NodePlan& n : layout.nodes) {
    nlohmann::json held = nlohmann::json::object();
    for (const auto& [layer, nl] : n.info.layers) held[std::to_string(layer)] = nl.held;
    sections.bundle_facts[n.info.node] = {{"kind", "node"}, {"mode", NodeModeName(n.info.mode)}};
    if (req.format != NodeFileFormat::kSafetensors) {
      sections.bundle_facts[n.info.node]["gguf"] =
          n.info.node + "/" + NodeGgufFileName(n.info.node);
    }
    sections.nodes.push_back(
        {n.info.node,
         gguf_only ? std::vector<std::string>{n.info.node} : n.info.bundles,
         {{"group", n.info.group}, {"mode", NodeModeName(n.info.mode)}, {"held_experts", held}}});
  }
  // Shards were hashed as they were written: the manifest reuses those digests for files whose
  // stamp is unchanged instead of reading the whole release again.
  BuildOptions describe = build;
  for (const WrittenFile& f : written) {
    if (f.stamp.known()) describe.known[f.path] = {f.size, f.sha256, f.stamp};
  }
  ASSIGN_OR_RETURN(Distribution d, BuildDistribution(out, sections, describe));
  size_t listed = 0;
  for (const auto& [bundle, entry] : d.bundles) listed += entry.files.size();
  if (listed != written.size()) {
    return Status::Internal("{}: distribution.json lists {} files, pack wrote {}", dist, listed,
                            written.size());
  }
  for (const WrittenFile& f : written) {
    const std::string bundle = f.path.substr(0, f.path.find('/'));
    const std::string rel = f.path.substr(f.path.find('/') + 1);
    const auto& files = d.bundles.at(bundle).files;
    auto it =
        std::find_if(files.begin(), files.end(), [&](const auto& m) { return m.path == rel; });
    if (it == files.end() || it->size != f.size || it->sha256 != f.sha256) {
      return Status::IoError("{}/{}: bytes on disk differ from the bytes pack wrote", dist, f.path);
    }
  }

  // 7. The switch: DIST holds the old release or this one, whole, at every instant.
  RETURN_IF_ERROR(stage.Publish(req.after_switch));
  report.out_dir = dist;
  for (const BundlePlan& b : layout.bundles) {
    if (!gguf_only) report.bundles.push_back(b.name);
  }
  for (const NodePlan& n : layout.nodes) {
    report.bundles.push_back(n.info.node);
    report.nodes.push_back(n.info);
  }
  for (const WrittenFile& f : written) {
    report.files.push_back({f.path, f.size, f.sha256});
    report.bundle_bytes[f.path.substr(0, f.path.find('/'))] += f.size;
    report.bytes_written += f.size;
  }
  std::sort(report.files.begin(), report.files.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  for (const TensorDecision& dec : layout.decisions) {
    report.stored_types[dec.bundle][dec.choice.stored.Name()]++;
    if (!dec.choice.note.empty()) report.fallbacks.push_back(dec);
  }
  report.warnings = layout.warnings;
  for (std::string& w : gguf_warnings) report.warnings.push_back(std::move(w));
  if (stage.removed_leftovers()) {
    report.warnings.push_back("removed the staging directory of an interrupted pack");
  }
  if (imatrix) {
    report.imatrix_sha256 = imatrix->sha256();
    report.imatrix_weighted = layout.imatrix_weighted;
  }
  report.tensors_written = tensors_written.load();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace moedist
