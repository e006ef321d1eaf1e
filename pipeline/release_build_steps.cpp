#include "pipeline/release_build_steps.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "formats/checkpoint_inventory.h"
#include "manifest/release_signing.h"
#include "pipeline/budget_plan.h"
#include "pipeline/gate_profiler.h"
#include "pipeline/pack_release.h"
#include "pipeline/planner.h"
#include "pipeline/release_build_validate.h"
#include "pipeline/standin_plan.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

// Where plan.json says its profile is: the published path relative to OUT, so the plan (and the
// manifest that quotes it) does not depend on the cache key or on where OUT lies.
constexpr const char* kPublishedProfile = "profile/profile.json";

std::string Join(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

Result<std::string> RunInspect(const ReleaseSpec& spec, const StepContext& ctx) {
  ASSIGN_OR_RETURN(auto ckpt, Checkpoint::Open(spec.checkpoint));
  ASSIGN_OR_RETURN(CheckpointInventory inv, InventoryCheckpoint(*ckpt, spec.plan.groups));
  if (!inv.unclassified.empty()) {
    return Status::Unsupported("{}: {} tensors are not recognised for family {} (first: \"{}\")",
                               spec.checkpoint, inv.unclassified.size(),
                               FamilyName(inv.config->family), inv.unclassified.front());
  }
  RETURN_IF_ERROR(WriteFileAtomically(Join(ctx.out_dir, "inspect.json"),
                                      DumpJsonStable(InventoryToJson(inv)) + "\n"));
  return fmt::format("{} tensors, {} bytes", inv.tensor_count, inv.total_bytes);
}

Result<std::string> RunProfile(const ReleaseSpec& spec, const StepContext& ctx) {
  ProfileOptions o;
  o.checkpoint = spec.checkpoint;
  o.suite = spec.calibration;
  o.layers = spec.profile.layers;
  o.max_tokens_per_prompt = spec.profile.max_tokens_per_prompt;
  o.topm = spec.profile.topm;
  o.max_rss = spec.max_rss;  // planned under the cap (layer streaming where needed)
  ASSIGN_OR_RETURN(GateProfile profile, RunGateProfile(o));
  // How the profile was computed (mode, peak RSS) is not recorded: the peak RSS differs from
  // run to run, and a build's outputs must depend only on its inputs.
  profile.execution = {};
  const std::string out = Join(ctx.out_dir, "profile.json");
  // The same files `moedist profile -o profile.json` writes.
  RETURN_IF_ERROR(WriteGateProfile(profile, out));
  for (const auto& l : profile.layers) {
    RETURN_IF_ERROR(WriteFileAtomically(fmt::format("{}.ranking.layer{}.csv", out, l.layer),
                                        RankingCsv(profile, l.layer)));
  }
  RETURN_IF_ERROR(WriteFileAtomically(out + ".ranking.csv", RankingCsv(profile, -1)));
  return fmt::format("{} prompts, {} tokens, {} layers", profile.prompts.size(), profile.tokens,
                     profile.layers.size());
}

PlanOptions ToPlanOptions(const ReleaseSpecPlan& p) {
  PlanOptions o;
  o.groups = p.groups;
  o.overlay = p.overlay;
  o.overlay_bytes = p.overlay_bytes;
  o.strategy = p.strategy;
  o.assign_path = p.assign;
  o.min_experts = p.min_experts;
  o.force = p.force;
  o.split_router_groups = p.split_router_groups;
  return o;
}

// Budget mode: the best measured configuration for N nodes of B bytes (budget_plan.h).
Result<std::string> RunBudgetPlan(const ReleaseSpec& spec, const StepContext& ctx,
                                  const GateProfile& profile) {
  BudgetOptions o;
  o.nodes = spec.plan.nodes;
  o.node_bytes = spec.plan.node_bytes;
  o.checkpoint_dir = spec.checkpoint;
  o.suite_path = spec.calibration;
  o.measure = spec.plan.measure;
  o.measure_prompts = spec.plan.measure_prompts;
  o.measure_tokens = spec.plan.measure_tokens;
  o.threads = ctx.threads;
  o.progress = [tick = ctx.tick](const std::string&) {
    if (tick) tick();
  };
  ASSIGN_OR_RETURN(BudgetPlanResult r, PlanToBudget(profile, kPublishedProfile, o));
  RETURN_IF_ERROR(
      WriteBudgetPlan(r, profile, kPublishedProfile, o, Join(ctx.out_dir, "plan.json")));
  const CandidateMeasurement& m = *r.candidates[r.chosen].measured;
  return fmt::format(
      "{} nodes of {} bytes: {}; worst node {:+.4f}, placed {:+.4f} nats/token on "
      "the calibration suite",
      o.nodes, o.node_bytes, r.candidates[r.chosen].config.Id(), m.quality.worst_node,
      m.quality.placed);
}

Result<std::string> RunPlan(const ReleaseSpec& spec, const StepContext& ctx) {
  ASSIGN_OR_RETURN(GateProfile profile,
                   ReadGateProfile(Join(ctx.dep_dirs.at("profile"), "profile.json")));
  if (spec.plan.nodes > 0) return RunBudgetPlan(spec, ctx, profile);
  const PlanOptions o = ToPlanOptions(spec.plan);
  ASSIGN_OR_RETURN(PlanResult r, MakePlan(profile, kPublishedProfile, o));
  nlohmann::json j = PlanResultToJson(r, profile, kPublishedProfile, o);
  const std::string plan_path = Join(ctx.out_dir, "plan.json");
  if (!spec.plan.standins.empty()) {
    ASSIGN_OR_RETURN(StandInKind kind, ParseFileStandInKind(spec.plan.standins));
    ASSIGN_OR_RETURN(j["standins"],
                     WriteStandInsBesidePlan(r.plan, kind, spec.checkpoint, spec.calibration,
                                             plan_path, spec.plan.proxies_per_group));
  }
  RETURN_IF_ERROR(WriteFileAtomically(plan_path, DumpJsonStable(j) + "\n"));
  const auto& chosen = r.comparison.at(r.plan.strategy).planning;
  return fmt::format("{} groups, strategy {}, captured mass mean {:.4f} min {:.4f}{}",
                     r.plan.num_groups, r.plan.strategy, chosen.mean, chosen.min,
                     r.warnings.empty() ? "" : "; warning: " + r.warnings.front());
}

Result<std::string> RunPack(const ReleaseSpec& spec, const StepContext& ctx) {
  PackRequest req;
  req.checkpoint_dir = spec.checkpoint;
  req.plan_source = Join(ctx.dep_dirs.at("plan"), "plan.json");
  ASSIGN_OR_RETURN(req.plan, ReadPlanFile(req.plan_source));
  ASSIGN_OR_RETURN(req.recipe,
                   ResolvePackRecipe(spec.pack.recipe, req.plan_source, &req.recipe_source));
  req.out_dir = ctx.out_dir;
  req.threads = ctx.threads;
  req.shard_bytes = spec.pack.shard_bytes;
  req.layout = *ParsePackLayoutKind(spec.pack.layout);  // ParseReleaseSpec checked it
  req.imatrix_path = spec.pack.imatrix;
  req.release_name = spec.release.name;
  req.release_version = spec.release.version;
  req.created = spec.release.created;
  req.expires = spec.release.expires;
  req.valid_days = spec.release.valid_days;
  req.after_tensor = [tick = ctx.tick](uint64_t) {
    if (tick) tick();
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(PackReport report, PackRelease(req));
  return fmt::format("{} bundles, {} files, {} bytes", report.bundles.size(), report.files.size(),
                     report.bytes_written);
}

Status CopyFile(const std::string& from, const std::string& to) {
  ASSIGN_OR_RETURN(std::string bytes, ReadSmallFile(from, 256ull << 20));
  return WriteFileAtomically(to, bytes);
}

Result<std::string> RunSign(const ReleaseSpec& spec, const StepContext& ctx) {
  ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Load(spec.signing_key));
  // SignRelease signs DIR/distribution.json; sign a copy so only the signature is this step's.
  const std::string manifest = Join(ctx.out_dir, "distribution.json");
  RETURN_IF_ERROR(CopyFile(Join(ctx.dep_dirs.at("pack"), "distribution.json"), manifest));
  ASSIGN_OR_RETURN(SignOutcome signed_release, SignRelease(ctx.out_dir, key));
  if (::unlink(manifest.c_str()) != 0) return Status::IoError("{}: cannot remove", manifest);
  return fmt::format("key {}", signed_release.key_id);
}

// A release directory the validator may read: pack's files linked, the manifest and signature
// copied (the validator may rewrite them).
Status AssembleRelease(const StepContext& ctx, const std::string& dist) {
  const std::string pack = ctx.dep_dirs.at("pack");
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(pack, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path rel = fs::relative(it->path(), pack);
    const fs::path to = fs::path(dist) / rel;
    if (it->is_directory()) {
      fs::create_directories(to, ec);
    } else if (rel == "distribution.json") {
      RETURN_IF_ERROR(CopyFile(it->path().string(), to.string()));
    } else {
      fs::create_hard_link(it->path(), to, ec);
    }
    if (ec) return Status::IoError("{}: {}", to.string(), ec.message());
  }
  if (ec) return Status::IoError("{}: cannot list: {}", pack, ec.message());
  if (ctx.dep_dirs.count("sign")) {
    RETURN_IF_ERROR(CopyFile(Join(ctx.dep_dirs.at("sign"), "distribution.json.sig"),
                             Join(dist, "distribution.json.sig")));
  }
  return Status::Ok();
}

Result<std::string> RunValidate(const ReleaseSpec& spec, const BuildStepSettings& settings,
                                const StepContext& ctx) {
  BuildValidateRequest req;
  req.dist_dir = Join(ctx.scratch_dir, "dist");
  RETURN_IF_ERROR(AssembleRelease(ctx, req.dist_dir));
  req.checkpoint = spec.checkpoint;
  req.eval_suite = spec.eval;
  req.profile = Join(ctx.dep_dirs.at("profile"), "profile.json");
  req.plan = Join(ctx.dep_dirs.at("plan"), "plan.json");
  req.scratch_dir = Join(ctx.scratch_dir, "validate");
  req.signing_key = spec.signing_key;
  req.only_node = settings.only_node;
  req.options = spec.validate;
  req.threads = ctx.threads;
  req.out_dir = Join(ctx.out_dir, "validate");
  std::error_code ec;
  fs::create_directories(req.out_dir, ec);
  if (ec) return Status::IoError("{}: cannot create: {}", req.out_dir, ec.message());
  ASSIGN_OR_RETURN(BuildValidateOutcome outcome, RunBuildValidator(req));
  // Publish a manifest the validator updated over pack's and sign's.
  for (const char* name : {"distribution.json", "distribution.json.sig"}) {
    const std::string got = Join(req.dist_dir, name);
    const std::string before =
        std::string(name) == "distribution.json"
            ? Join(ctx.dep_dirs.at("pack"), name)
            : (ctx.dep_dirs.count("sign") ? Join(ctx.dep_dirs.at("sign"), name) : "");
    if (!fs::exists(got)) continue;
    ASSIGN_OR_RETURN(std::string now_bytes, ReadSmallFile(got, 256ull << 20));
    if (!before.empty() && fs::exists(before)) {
      ASSIGN_OR_RETURN(std::string old_bytes, ReadSmallFile(before, 256ull << 20));
      if (old_bytes == now_bytes) continue;
    }
    fs::create_directories(Join(ctx.out_dir, "dist"), ec);
    if (ec) return Status::IoError("{}/dist: cannot create: {}", ctx.out_dir, ec.message());
    RETURN_IF_ERROR(WriteFileAtomically(Join(Join(ctx.out_dir, "dist"), name), now_bytes));
  }
  if (!outcome.table.empty()) {
    RETURN_IF_ERROR(WriteFileAtomically(Join(req.out_dir, "quality.txt"), outcome.table));
  }
  RETURN_IF_ERROR(WriteFileAtomically(Join(req.out_dir, "verdict.txt"),
                                      outcome.passed ? "passed\n" : "failed\n"));
  return std::string(outcome.passed ? "passed" : "FAILED: nodes above the thresholds");
}

}  // namespace

Result<std::vector<StepInput>> CheckpointInputs(const std::string& checkpoint_dir) {
  std::vector<StepInput> inputs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(checkpoint_dir, ec)) {
    if (e.is_regular_file()) {
      inputs.push_back({"checkpoint/" + e.path().filename().string(), e.path().string()});
    }
  }
  if (ec)
    return Status::IoError("{}: cannot list the checkpoint: {}", checkpoint_dir, ec.message());
  if (inputs.empty()) return Status::NotFound("{}: no files in the checkpoint", checkpoint_dir);
  std::sort(inputs.begin(), inputs.end(),
            [](const StepInput& a, const StepInput& b) { return a.label < b.label; });
  return inputs;
}

Result<std::vector<BuildStep>> MakeBuildSteps(const ReleaseSpec& spec,
                                              const BuildStepSettings& settings) {
  ASSIGN_OR_RETURN(std::vector<StepInput> ckpt, CheckpointInputs(spec.checkpoint));
  std::vector<BuildStep> steps;
  auto with = [](std::vector<StepInput> v, std::vector<StepInput> more) {
    v.insert(v.end(), more.begin(), more.end());
    return v;
  };
  steps.push_back({"inspect",
                   {},
                   ckpt,
                   {{"groups", spec.plan.groups}},
                   "inspect",
                   true,
                   "",
                   [&spec](const StepContext& c) { return RunInspect(spec, c); }});
  steps.push_back({"profile",
                   {},
                   with(ckpt, {{"calibration", spec.calibration}}),
                   {{"suite", spec.calibration},
                    {"layers", spec.profile.layers},
                    {"max_tokens_per_prompt", spec.profile.max_tokens_per_prompt},
                    {"topm", spec.profile.topm}},
                   "profile",
                   true,
                   "",
                   [&spec](const StepContext& c) { return RunProfile(spec, c); }});
  const ReleaseSpecPlan& p = spec.plan;
  std::vector<StepInput> plan_inputs;
  if (!p.assign.empty()) plan_inputs.push_back({"assign", p.assign});
  // Budget mode packs and scores candidates, stand-ins are fitted: the checkpoint and the suite
  // are inputs too.
  if (p.nodes > 0 || !p.standins.empty()) {
    plan_inputs = with(plan_inputs, with(ckpt, {{"calibration", spec.calibration}}));
  }
  steps.push_back({"plan",
                   {"profile"},
                   plan_inputs,
                   {{"nodes", p.nodes},
                    {"node_bytes", p.node_bytes},
                    {"measure", p.measure},
                    {"measure_prompts", p.measure_prompts},
                    {"measure_tokens", p.measure_tokens},
                    {"groups", p.groups},
                    {"overlay", p.overlay},
                    {"overlay_bytes", p.overlay_bytes},
                    {"strategy", p.strategy},
                    {"min_experts", p.min_experts},
                    {"force", p.force},
                    {"split_router_groups", p.split_router_groups},
                    {"standins", p.standins},
                    {"proxies_per_group", p.proxies_per_group},
                    {"profile_path", kPublishedProfile}},
                   "plan",
                   true,
                   "",
                   [&spec](const StepContext& c) { return RunPlan(spec, c); }});
  std::vector<StepInput> pack_inputs = ckpt;
  if (!spec.pack.recipe.empty()) pack_inputs.push_back({"recipe", spec.pack.recipe});
  if (!spec.pack.imatrix.empty()) pack_inputs.push_back({"imatrix", spec.pack.imatrix});
  const ReleaseSpecRelease& r = spec.release;
  steps.push_back({"pack",
                   {"plan"},
                   pack_inputs,
                   {{"shard_bytes", spec.pack.shard_bytes},
                    {"layout", spec.pack.layout},
                    {"name", r.name},
                    {"version", r.version},
                    {"created", r.created},
                    {"expires", r.expires},
                    {"valid_days", r.valid_days}},
                   "dist",
                   true,
                   "",
                   [&spec](const StepContext& c) { return RunPack(spec, c); }});
  std::vector<std::string> validate_deps = {"profile", "plan", "pack"};
  if (!spec.signing_key.empty()) {
    steps.push_back({"sign",
                     {"pack"},
                     {{"key", spec.signing_key}},
                     nlohmann::json::object(),
                     "dist",
                     true,
                     "",
                     [&spec](const StepContext& c) { return RunSign(spec, c); }});
    validate_deps.push_back("sign");
  }
  BuildStep validate{
      "validate",
      validate_deps,
      {},
      {{"options", spec.validate}, {"only", settings.only_node}},
      "",
      BuildValidatorAvailable(),
      "not available in this build",
      [&spec, settings](const StepContext& c) { return RunValidate(spec, settings, c); }};
  if (spec.eval.empty()) {
    validate.available = false;
    validate.unavailable_note = "no eval suite in " + spec.source;
  } else {
    validate.inputs.push_back({"eval", spec.eval});
  }
  steps.push_back(std::move(validate));
  return steps;
}

}  // namespace moedist
