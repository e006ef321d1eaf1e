#include "pipeline/release_validate.h"

#include <algorithm>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "core/scratch_dir.h"
#include "manifest/build_distribution.h"
#include "manifest/release_stage.h"
#include "manifest/release_verify.h"
#include "pipeline/node_model.h"
#include "pipeline/quantized_full_release.h"
#include "pipeline/release_placement.h"
#include "pipeline/session_quality.h"
#include "pipeline/validation_eval.h"
#include "pipeline/validation_manifest.h"
#include "pipeline/validation_report_html.h"
#include "pipeline/validation_tiers.h"

namespace moedist {
namespace {
namespace fs = std::filesystem;

bool IsInside(const std::string& child, const std::string& parent) {
  std::error_code ec;
  const fs::path c = fs::weakly_canonical(child, ec), p = fs::weakly_canonical(parent, ec);
  auto [pe, ce] = std::mismatch(p.begin(), p.end(), c.begin(), c.end());
  return pe == p.end();
}

Status CheckOptions(const ValidateOptions& o) {
  if (o.dist_dir.empty()) return Status::InvalidArgument("no release directory given");
  if (o.eval_path.empty()) return Status::InvalidArgument("no eval file given (--eval)");
  if (o.checkpoint_dir.empty()) {
    return Status::InvalidArgument(
        "no source checkpoint given (--checkpoint): distribution.json lists the checkpoint's "
        "files and digests, not where it lies");
  }
  if (o.tier_bytes && (!o.update_manifest || o.node)) {
    return Status::InvalidArgument(
        "--tier-bytes: the tiers go into distribution.json, which --no-manifest and --node "
        "leave alone");
  }
  if (!fs::is_directory(o.dist_dir)) {
    return Status::NotFound("{}: not a directory (a release written by moedist pack)", o.dist_dir);
  }
  for (const std::string* d : {&o.report_dir, &o.scratch_dir}) {
    if (!d->empty() && IsInside(*d, o.dist_dir)) {
      return Status::InvalidArgument(
          "{}: inside the release directory {}; verify would count its files as extra", *d,
          o.dist_dir);
    }
  }
  if (o.max_prompt_tokens < 2 || o.generation_new_tokens < 0 || o.generation_prompts < 0) {
    return Status::InvalidArgument("prompt and generation sizes must be positive");
  }
  return Status::Ok();
}

// Verify, then hand each node the problems in its bundles plus the release-wide ones.
// Returns false when the manifest itself cannot be trusted (nothing else may run).
bool ApplyVerify(const VerifyReport& vr, const Distribution* d, ValidationReport& report) {
  bool trusted = true;
  std::vector<std::string> release_wide;
  std::vector<const VerifyProblem*> in_bundles;
  for (const VerifyProblem& p : vr.problems) {
    const std::string line = fmt::format("[{}] {}", VerifyCheckName(p.check), p.message);
    if (p.check == VerifyCheck::kManifest || p.check == VerifyCheck::kSignature ||
        p.check == VerifyCheck::kSchema) {
      trusted = false;
    }
    const size_t slash = p.file.find('/');
    if (d != nullptr && slash != std::string::npos && d->bundles.count(p.file.substr(0, slash))) {
      in_bundles.push_back(&p);
    } else {
      release_wide.push_back(line);
    }
  }
  report.release_problems = release_wide;
  if (!trusted || d == nullptr) return false;
  for (NodeValidation& n : report.nodes) {
    const NodeEntry* entry = d->FindNode(n.node);
    n.verify_problems = release_wide;
    for (const VerifyProblem* p : in_bundles) {
      const std::string bundle = p->file.substr(0, p->file.find('/'));
      if (entry &&
          std::find(entry->bundles.begin(), entry->bundles.end(), bundle) != entry->bundles.end()) {
        n.verify_problems.push_back(fmt::format("[{}] {}", VerifyCheckName(p->check), p->message));
      }
    }
    n.verify = n.verify_problems.empty() ? CheckState::kPassed : CheckState::kFailed;
    if (!n.verify_problems.empty()) {
      n.failures.push_back(fmt::format("verify: {}", n.verify_problems.front()));
    }
  }
  return true;
}

// Everything one validation run shares between nodes.
struct Context {
  const ValidateOptions& o;
  ValidationReport& report;
  const Distribution& d;
  const CalibrationSuite& suite;
  std::unique_ptr<Model> full;
  EvalPrompts full_prompts;
  std::vector<size_t> generation_picks;
  bool keeps_everything = false;
};

Result<std::optional<Tokenizer>> LoadTokenizerIn(const std::string& dir) {
  const std::string path = dir + "/tokenizer.json";
  if (!fs::exists(path)) return std::optional<Tokenizer>();
  ASSIGN_OR_RETURN(Tokenizer t, Tokenizer::LoadFile(path));
  return std::optional<Tokenizer>(std::move(t));
}

Result<int32_t> BosId(const Model& m, bool add_bos) {
  if (!add_bos) return -1;
  const nlohmann::json& raw = m.config().raw;
  if (!raw.contains("bos_token_id") || !raw["bos_token_id"].is_number_integer()) {
    return Status::Corruption("{}/config.json: no integer \"bos_token_id\" for add_bos", m.dir());
  }
  return raw["bos_token_id"].get<int32_t>();
}

// Scores and samples a reference model (the full one, or the quantized full one).
Status MeasureReference(Context& c, const MaskedModel& m, const Tokenizer* tok,
                        ReferenceValidation& out) {
  ASSIGN_OR_RETURN(out.quality, ScoreEvalPrompts(m, c.full_prompts, nullptr, nullptr));
  ASSIGN_OR_RETURN(out.degeneracy, MeasureGenerations(m, c.full_prompts, c.generation_picks,
                                                      c.o.generation_prompt_tokens,
                                                      c.o.generation_new_tokens, tok));
  out.available = true;
  return Status::Ok();
}

// The quantized full model: the full model itself when the recipe keeps everything, else a
// one-node release packed with the recipe (given, or packed into scratch).
Status MeasureQuantizedFull(Context& c, const std::string& scratch, const Tokenizer* tok) {
  ReferenceValidation& q = c.report.quantized_full;
  if (c.keeps_everything) {
    q = c.report.full;
    q.note =
        "the recipe keeps every tensor as the checkpoint has it: the quantized full model "
        "is the full model";
    return Status::Ok();
  }
  std::string release = c.o.quantized_full_dir;
  if (release.empty()) {
    release = scratch + "/quantized-full";
    ASSIGN_OR_RETURN(PackRequest req,
                     QuantizedFullRequest(c.d, c.full->config(), c.o.checkpoint_dir, release));
    auto packed = PackRelease(req);
    if (!packed.ok()) {
      q.note = fmt::format(
          "not available: packing the checkpoint with the release's recipe as "
          "one node failed: {}",
          packed.status().message());
      return Status::Ok();
    }
  }
  auto node = OpenNodeModel(release, "node-0", scratch + "/quantized-full-open");
  if (!node.ok()) {
    q.note = fmt::format("not available: {}", node.status().message());
    return Status::Ok();
  }
  q.note = c.o.quantized_full_dir.empty()
               ? "the checkpoint packed with the release's recipe as one node of every expert"
               : "the one-node release given as the quantized full model";
  return MeasureReference(c, {node->model.get(), &node->mask}, tok, q);
}

void JudgeNode(const Context& c, NodeValidation& n) {
  const ValidateThresholds& t = c.o.thresholds;
  if (n.quality && c.report.full.quality) {
    n.delta_vs_full = n.quality->mean_logprob - c.report.full.quality->mean_logprob;
    if (c.report.quantized_full.quality) {
      n.delta_vs_quantized_full =
          n.quality->mean_logprob - c.report.quantized_full.quality->mean_logprob;
    }
    const bool ok = *n.delta_vs_full >= -t.max_logprob_drop;
    n.quality_check = ok ? CheckState::kPassed : CheckState::kFailed;
    if (!ok) {
      n.failures.push_back(fmt::format(
          "quality: mean token log-probability {:.4f} nats below the full model's (limit {:.4f})",
          -*n.delta_vs_full, t.max_logprob_drop));
    }
  }
  if (n.degeneracy && c.report.full.degeneracy) {
    const double d2 = n.degeneracy->distinct_2, full_d2 = c.report.full.degeneracy->distinct_2;
    bool ok = true;
    if (d2 < t.min_distinct_2) {
      ok = false;
      n.failures.push_back(
          fmt::format("degeneracy: mean distinct-2 of greedy generations {:.3f} is below {:.3f}",
                      d2, t.min_distinct_2));
    }
    if (full_d2 - d2 > t.max_distinct_2_drop) {
      ok = false;
      n.failures.push_back(fmt::format(
          "degeneracy: mean distinct-2 {:.3f} is {:.3f} below the full model's {:.3f} (limit "
          "{:.3f})",
          d2, full_d2 - d2, full_d2, t.max_distinct_2_drop));
    }
    n.degeneracy_check = ok ? CheckState::kPassed : CheckState::kFailed;
  }
}

// The node's GGUF file, when pack wrote one: runtime-min reads it (llama.cpp names, merged
// experts, router sliced) and its logits must equal the safetensors node's bit for bit, since
// both hold the same bytes. A mismatch means the export, not the model, is wrong.
Status CheckGgufNode(const std::string& path, const MaskedModel& node, const EvalPrompts& prompts,
                     NodeValidation& n) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    n.gguf = CheckState::kNotApplicable;
    n.gguf_detail = "pack wrote no GGUF file for this node";
    return Status::Ok();
  }
  auto gguf = Model::OpenGguf(path);
  if (!gguf.ok()) {
    n.gguf = CheckState::kFailed;
    n.gguf_detail = gguf.status().ToString();
    n.failures.push_back("gguf: " + std::string(gguf.status().message()));
    return Status::Ok();
  }
  const MaskedModel from_gguf{gguf->get(), nullptr};
  LogitComparison cmp;
  ASSIGN_OR_RETURN(QualityStats unused, ScoreEvalPrompts(from_gguf, prompts, &node, &cmp));
  (void)unused;
  n.gguf = cmp.equal ? CheckState::kPassed : CheckState::kFailed;
  n.gguf_detail = cmp.equal ? "logits equal the safetensors node's bit for bit on every eval prompt"
                            : cmp.first_difference;
  if (!cmp.equal) {
    n.failures.push_back(
        fmt::format("gguf: {} gives other logits than the safetensors node ({}; max |diff| {})",
                    path, cmp.first_difference, cmp.max_abs_diff));
  }
  return Status::Ok();
}

// Load, equivalence, quality and degeneracy of one node whose files verified.
Status ValidateNode(Context& c, const std::string& scratch, NodeValidation& n) {
  const std::string dir = c.o.dist_dir + "/" + n.node;
  auto opened = OpenNodeModel(c.o.dist_dir, n.node, scratch);
  if (!opened.ok()) {
    n.load = CheckState::kFailed;
    n.load_error = opened.status().ToString();
    n.failures.push_back("load: " + std::string(opened.status().message()));
    return Status::Ok();
  }
  NodeModel& node = *opened;
  n.load = CheckState::kPassed;
  n.mode = std::string(NodeModeName(node.info.mode));
  n.quantized = node.quantized;
  n.materialized = node.materialized;
  for (const auto& [layer, nl] : node.info.layers) n.held_experts[layer] = nl.held.size();

  ASSIGN_OR_RETURN(auto tok, LoadTokenizerIn(dir));
  ASSIGN_OR_RETURN(int32_t bos, BosId(*node.model, c.o.add_bos));
  ASSIGN_OR_RETURN(EvalPrompts prompts,
                   TokenizeEvalPrompts(c.suite, tok ? &*tok : nullptr, c.o.max_prompt_tokens, bos));
  if (prompts.tokens != c.full_prompts.tokens) {
    n.failures.push_back(
        "load: the node's tokenizer.json gives other token ids than the checkpoint's");
    n.load = CheckState::kFailed;
    return Status::Ok();
  }
  const MaskedModel m{node.model.get(), &node.mask};
  std::map<int, std::vector<int>> held;
  for (const auto& [layer, nl] : node.info.layers) held[layer] = nl.held;
  ASSIGN_OR_RETURN(ExpertMask full_mask,
                   ExpertMask::FromLayers(c.full->config(), held, dir + "/moedist_node.json"));
  const MaskedModel reference{c.full.get(), &full_mask};
  LogitComparison cmp;
  bool proxies = false;
  for (const auto& [layer, nl] : node.info.layers) proxies = proxies || !nl.proxies.empty();
  const bool compare = c.keeps_everything && !proxies;
  ASSIGN_OR_RETURN(n.quality, ScoreEvalPrompts(m, prompts, compare ? &reference : nullptr, &cmp));
  if (proxies) {
    n.equivalence = CheckState::kNotApplicable;
    n.equivalence_detail =
        "the node holds proxy experts (plan stand-ins) for the groups it lacks, so it is meant "
        "to differ from the full model under its mask; the Δ log-probability measures it";
  } else if (!compare) {
    n.equivalence = CheckState::kNotApplicable;
    n.equivalence_detail =
        "the recipe converts or quantizes tensors; bit-for-bit equality holds "
        "only for nodes that keep the checkpoint's bytes";
  } else {
    n.equivalence = cmp.equal ? CheckState::kPassed : CheckState::kFailed;
    n.max_abs_logit_diff = cmp.max_abs_diff;
    n.equivalence_detail =
        cmp.equal ? "logits equal bit for bit on every eval prompt" : cmp.first_difference;
    if (!cmp.equal && c.o.thresholds.require_equivalence) {
      n.failures.push_back(fmt::format(
          "equivalence: logits differ from the full model's under the node's mask ({}; max "
          "|diff| {})",
          cmp.first_difference, cmp.max_abs_diff));
    }
  }
  RETURN_IF_ERROR(CheckGgufNode(dir + "/" + n.node + ".gguf", m, prompts, n));
  ASSIGN_OR_RETURN(n.degeneracy,
                   MeasureGenerations(m, prompts, c.generation_picks, c.o.generation_prompt_tokens,
                                      c.o.generation_new_tokens, tok ? &*tok : nullptr));
  JudgeNode(c, n);
  if (!node.scratch.empty()) {
    std::error_code ec;
    fs::remove_all(node.scratch, ec);
  }
  return Status::Ok();
}

// Worst node, placed and oracle Δ over the eval suite, when every node of the release was
// scored and node i is group i.
Status MeasureSessions(Context& c, ValidationReport& report) {
  if (!report.full.quality || report.nodes.empty()) return Status::Ok();
  std::vector<std::vector<double>> scores;
  for (size_t i = 0; i < report.nodes.size(); ++i) {
    const NodeValidation& n = report.nodes[i];
    if (!n.quality || n.node != fmt::format("node-{}", i)) {
      report.notes.push_back(
          "sessions (worst node, placed, oracle) not measured: a node was not scored");
      return Status::Ok();
    }
    scores.push_back(n.quality->prompt_mean_logprob);
  }
  const ExpertPlan plan = PlanOfRelease(c.d, c.full->config());
  if (plan.num_groups != static_cast<int>(scores.size())) {
    report.notes.push_back(
        fmt::format("sessions not measured: {} nodes for {} groups in the partition", scores.size(),
                    plan.num_groups));
    return Status::Ok();
  }
  std::vector<int> placed;
  if (plan.num_groups > 1) {
    ASSIGN_OR_RETURN(GateProfile probe,
                     ProbePlacementRouting(*c.full, c.full_prompts.tokens, c.o.place_tokens));
    placed = PlaceProbedPrompts(probe, plan);
  }
  std::vector<double> weights;
  for (const auto& t : c.full_prompts.tokens) weights.push_back(static_cast<double>(t.size() - 1));
  ASSIGN_OR_RETURN(
      report.sessions,
      SummariseSessions(weights, report.full.quality->prompt_mean_logprob, scores, placed));
  report.place_tokens = c.o.place_tokens;
  const double limit = c.o.thresholds.max_placed_logprob_drop;
  if (report.sessions->placed < -limit) {
    report.placed_failure = fmt::format(
        "placed sessions: mean token log-probability {:.4f} nats below the full model's with "
        "each eval prompt on the node place picks (limit {:.4f})",
        -report.sessions->placed, limit);
  }
  return Status::Ok();
}

Result<std::optional<GateProfile>> LoadProfile(const ValidateOptions& o, const Distribution& d,
                                               ValidationReport& report) {
  const std::string path = ResolveReleaseProfilePath(o.profile_path, d);
  if (path.empty()) {
    report.notes.push_back(
        "no gate profile (give --profile): the HTML page has no concentration "
        "curve or mass heatmap");
    return std::optional<GateProfile>();
  }
  ASSIGN_OR_RETURN(GateProfile p, ReadGateProfile(path));
  return std::optional<GateProfile>(std::move(p));
}

// The `tiers` section, or none (with a note) when no gate profile is at hand.
Result<std::optional<nlohmann::json>> MeasureTiers(const ValidateOptions& o, const Distribution& d,
                                                   ValidationReport& report) {
  const std::string path = ResolveReleaseProfilePath(o.profile_path, d);
  if (path.empty()) {
    if (o.tier_bytes) {
      return Status::InvalidArgument(
          "--tier-bytes: no gate profile to rank experts by (give --profile)");
    }
    report.notes.push_back("no gate profile (give --profile): distribution.json gets no tiers");
    return std::optional<nlohmann::json>();
  }
  ReleaseTiersRequest r{path, o.checkpoint_dir, o.eval_path, o.max_prompt_tokens, o.tier_bytes};
  auto tiers = MeasureReleaseTiers(r, d);
  if (!tiers.ok()) return tiers.status().WithContext("hotness tiers");
  if (tiers->resident) {
    const ResidentSet& rs = *tiers->resident;
    report.notes.push_back(fmt::format(
        "tiers: {} resident bytes of {} cover {:.1f}% of the gate mass on the calibration suite, "
        "{:.1f}% on the eval suite",
        rs.bytes, rs.budget_bytes, 100 * rs.calibration.gate_mass,
        rs.eval ? 100 * rs.eval->gate_mass : 0.0));
  }
  return std::optional<nlohmann::json>(HotnessTiersToJson(*tiers));
}

Status WriteReports(const ValidateOptions& o, const Distribution* d, ValidationReport& report) {
  if (o.report_dir.empty()) return Status::Ok();
  std::error_code ec;
  fs::create_directories(o.report_dir, ec);
  if (ec) return Status::IoError("{}: cannot create: {}", o.report_dir, ec.message());
  std::optional<GateProfile> profile;
  std::map<uint32_t, LayerPartition> partition;
  if (d != nullptr) {
    ASSIGN_OR_RETURN(profile, LoadProfile(o, *d, report));
    partition = d->PartitionLayers();
  }
  const std::string json_path = o.report_dir + "/validation.json";
  const std::string html_path = o.report_dir + "/validation.html";
  report.written = {json_path, html_path};
  RETURN_IF_ERROR(WriteFileAtomically(
      html_path, ValidationReportHtml(report, profile ? &*profile : nullptr, partition)));
  return WriteFileAtomically(json_path, DumpJsonStable(ValidationReportToJson(report)) + "\n");
}

}  // namespace

Result<ValidationReport> ValidateRelease(const ValidateOptions& o) {
  RETURN_IF_ERROR(CheckOptions(o));
  ASSIGN_OR_RETURN(FileLock lock, LockRelease(o.dist_dir));
  ValidationReport report;
  report.dist_dir = o.dist_dir;
  report.thresholds = o.thresholds;
  report.max_prompt_tokens = o.max_prompt_tokens;
  report.generation_prompt_tokens = o.generation_prompt_tokens;
  report.generation_new_tokens = o.generation_new_tokens;
  ASSIGN_OR_RETURN(CalibrationSuite suite, ReadCalibrationSuite(o.eval_path));
  report.eval_file = fs::path(o.eval_path).filename().string();
  report.eval_sha256 = suite.sha256;
  for (const CalibrationPrompt& p : suite.prompts) {
    report.eval_prompt_ids.push_back(p.id);
    report.eval_prompt_domains.push_back(p.domain);
  }

  // 1. verify (once for every node in scope: shared bundles are hashed once).
  VerifyOptions vo;
  vo.dist_dir = o.dist_dir;
  vo.trusted_keys = o.trusted_keys;
  if (o.sign_key != nullptr) vo.trusted_keys.push_back(o.sign_key->public_key());
  vo.allow_unsigned = o.allow_unsigned;
  vo.node = o.node;
  vo.now = o.now;
  vo.threads = o.threads;
  const VerifyReport vr = VerifyRelease(vo);
  report.manifest_sha256 = vr.manifest_sha256;
  std::optional<Distribution> d;
  if (vr.release) {
    auto bytes = ReadManifestFile((fs::path(o.dist_dir) / kManifestFileName).string());
    if (bytes.ok()) {
      auto parsed = ParseDistribution(*bytes, o.dist_dir + "/distribution.json");
      if (parsed.ok()) d = std::move(parsed).value();
    }
  }
  if (d) {
    report.release_name = d->release.name;
    report.release_version = d->release.version;
    for (const NodeEntry& n : d->nodes) {
      if (!o.node || *o.node == n.id) report.nodes.push_back({.node = n.id});
    }
    if (o.node && report.nodes.empty()) {
      return Status::InvalidArgument("{}: no node \"{}\" in distribution.json", o.dist_dir,
                                     *o.node);
    }
  }
  if (!ApplyVerify(vr, d ? &*d : nullptr, report)) {
    report.notes.push_back("distribution.json could not be trusted; no node was checked further");
    RETURN_IF_ERROR(WriteReports(o, nullptr, report));
    return report;
  }

  // The references: the source checkpoint (checked against the manifest's digests).
  if (o.check_source_digests)
    RETURN_IF_ERROR(CheckFilesUnchanged(o.checkpoint_dir, d->source.files));
  ASSIGN_OR_RETURN(PackRecipe recipe, ReleaseRecipe(*d));
  report.recipe_name = recipe.source.value("name", "");
  report.recipe_keeps_everything = RecipeKeepsEverything(recipe);
  Context c{o, report, *d, suite};
  c.keeps_everything = report.recipe_keeps_everything;
  ASSIGN_OR_RETURN(c.full, Model::Open(o.checkpoint_dir));
  ASSIGN_OR_RETURN(auto full_tok, LoadTokenizerIn(o.checkpoint_dir));
  ASSIGN_OR_RETURN(int32_t bos, BosId(*c.full, o.add_bos));
  ASSIGN_OR_RETURN(c.full_prompts, TokenizeEvalPrompts(suite, full_tok ? &*full_tok : nullptr,
                                                       o.max_prompt_tokens, bos));
  c.generation_picks = PickGenerationPrompts(c.full_prompts, o.generation_prompts);
  ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Make(o.scratch_dir, "moedist-validate"));
  const Tokenizer* tok = full_tok ? &*full_tok : nullptr;
  RETURN_IF_ERROR(MeasureReference(c, {c.full.get(), nullptr}, tok, report.full));
  report.full.note = "the source checkpoint, every expert allowed";
  RETURN_IF_ERROR(MeasureQuantizedFull(c, scratch.path(), tok));

  // 2-5 per node.
  for (NodeValidation& n : report.nodes) {
    if (n.verify != CheckState::kPassed) continue;  // its bytes cannot be trusted
    RETURN_IF_ERROR(ValidateNode(c, scratch.path() + "/nodes", n));
  }
  if (!o.node) RETURN_IF_ERROR(MeasureSessions(c, report));
  if (!o.plan_path.empty()) {
    auto text = ReadSmallFile(o.plan_path, 64ull << 20);
    auto plan =
        text.ok() ? ParseJsonStrict(*text, o.plan_path) : Result<nlohmann::json>(text.status());
    if (!plan.ok()) {
      report.notes.push_back(fmt::format("plan not read: {}", plan.status().ToString()));
    } else if (plan->is_object() && plan->contains("budget")) {
      report.budget = (*plan)["budget"];
    }
  }
  if (std::any_of(report.nodes.begin(), report.nodes.end(), [](const NodeValidation& n) {
        return n.quantized && n.load != CheckState::kPassed;
      })) {
    report.notes.push_back(
        "quantized nodes cannot be loaded yet: runtime-min does not read "
        "block-quantized weights");
  }

  // The manifest's validation section (all nodes only: a partial run would drop the others).
  if (o.update_manifest && !o.node) {
    ASSIGN_OR_RETURN(std::optional<nlohmann::json> tiers, MeasureTiers(o, *d, report));
    // distribution.json and its signature change together: in a staged copy of links, switched
    // in whole (manifest/release_stage.h), so no crash leaves a manifest beside a stale signature.
    ASSIGN_OR_RETURN(ReleaseStage stage,
                     ReleaseStage::Begin(o.dist_dir, ReleaseStage::Seed::kLinkCurrent));
    ASSIGN_OR_RETURN(ManifestUpdate u, RecordValidationInManifest(stage.path(), vr.manifest_sha256,
                                                                  ValidationManifestSection(report),
                                                                  o.sign_key, tiers));
    if (u.written || u.signed_again || u.signature_removed) RETURN_IF_ERROR(stage.Publish());
    report.manifest_updated = u.written;
    report.manifest_signed = u.signed_again;
    report.signature_removed = u.signature_removed;
    if (u.written && !u.signed_again) {
      report.notes.push_back(
          "distribution.json now holds the validation results and is not "
          "signed: sign it again (moedist sign DIST --key K)");
    }
  } else if (o.node) {
    report.notes.push_back(
        "--node given: distribution.json was not updated (validate every "
        "node to record the results)");
  }
  RETURN_IF_ERROR(WriteReports(o, &*d, report));
  return report;
}

}  // namespace moedist
