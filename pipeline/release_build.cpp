#include "pipeline/release_build.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "core/byte_size.h"
#include "core/mapped_file.h"
#include "core/process_memory.h"
#include "manifest/file_digest.h"
#include "manifest/release_signing.h"
#include "manifest/release_stage.h"
#include "manifest/release_verify.h"
#include "pipeline/release_build_cache.h"
#include "pipeline/release_build_lock.h"
#include "pipeline/release_build_publish.h"
#include "pipeline/release_build_spec.h"
#include "pipeline/release_build_steps.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCacheDir = ".moedist-cache";

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// SHA-256 of every distinct external input, hashed once per build (never trusted by size or
// mtime: reliability row 35).
Result<std::map<std::string, std::string>> DigestInputs(const std::vector<BuildStep>& steps,
                                                        int threads) {
  std::set<std::string> paths;
  for (const BuildStep& s : steps) {
    for (const StepInput& i : s.inputs) paths.insert(i.path);
  }
  std::vector<DigestJob> jobs;
  for (const std::string& p : paths) {
    const fs::path path(p);
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    if (ec) return Status::NotFound("{}: cannot read input: {}", p, ec.message());
    jobs.push_back({path.parent_path().empty() ? "." : path.parent_path().string(),
                    path.filename().string(), std::numeric_limits<uint64_t>::max(), size});
  }
  std::vector<Result<FileDigest>> digests = DigestFiles(jobs, threads);
  std::map<std::string, std::string> out;
  size_t i = 0;
  for (const std::string& p : paths) {
    if (!digests[i].ok()) return digests[i].status().WithContext(p);
    out[p] = digests[i++]->sha256;
  }
  return out;
}

// The key of `step`, or nullopt when a step it reads has no entry yet (dry run).
Result<std::optional<std::string>> KeyOf(const BuildStep& step, const std::string& tool_version,
                                         const std::map<std::string, std::string>& digests,
                                         const std::map<std::string, CacheEntry>& entries) {
  std::map<std::string, std::string> inputs;
  for (const StepInput& i : step.inputs) inputs[i.label] = digests.at(i.path);
  for (const std::string& dep : step.deps) {
    auto it = entries.find(dep);
    if (it == entries.end()) return std::optional<std::string>();
    for (const CachedFile& f : it->second.files) inputs[dep + ":" + f.path] = f.sha256;
  }
  ASSIGN_OR_RETURN(std::string key, StepCacheKey(step.name, tool_version, step.params, inputs));
  return std::optional<std::string>(key);
}

class Checkpoints {
 public:
  explicit Checkpoints(uint64_t kill_at) : kill_at_(kill_at) {}
  // Called from pack's writer threads too.
  void Tick() {
    if (count_.fetch_add(1) + 1 == kill_at_) std::raise(SIGKILL);
  }
  uint64_t count() const { return count_.load(); }

 private:
  uint64_t kill_at_;
  std::atomic<uint64_t> count_{0};
};

// Where a step's cached file appears under OUT.
std::string PublishTarget(const BuildStep& step, const CachedFile& f) {
  return step.publish_dir.empty() ? f.path : step.publish_dir + "/" + f.path;
}

std::vector<PublishItem> PublishPlan(const std::vector<BuildStep>& steps,
                                     const std::map<std::string, CacheEntry>& entries) {
  std::map<std::string, std::string> targets;  // a later step's file replaces an earlier one's
  for (const BuildStep& s : steps) {
    auto it = entries.find(s.name);
    if (it == entries.end()) continue;
    for (const CachedFile& f : it->second.files) {
      targets[PublishTarget(s, f)] = (fs::path(it->second.out_dir) / f.path).string();
    }
  }
  std::vector<PublishItem> items;
  for (const auto& [target, source] : targets) items.push_back({target, source});
  return items;
}

Status RunSteps(const ReleaseBuildOptions& o, uint64_t max_rss, const std::vector<BuildStep>& steps,
                const std::map<std::string, std::string>& digests, StepCache* cache,
                Checkpoints* checkpoints, std::map<std::string, CacheEntry>* entries,
                ReleaseBuildReport* report) {
  auto log = [&](const std::string& line) {
    if (o.log) o.log(line);
  };
  for (const BuildStep& step : steps) {
    StepOutcome& out = report->steps.emplace_back(StepOutcome{step.name, "not reached"});
    if (!step.available) {
      out.state = "skipped";
      out.note = step.unavailable_note;
      log(fmt::format("{}: skipped ({})", step.name, out.note));
      continue;
    }
    ASSIGN_OR_RETURN(std::optional<std::string> key,
                     KeyOf(step, o.tool_version, digests, *entries));
    if (!key) {
      out.state = "would run";
      out.note = "after the steps it reads";
      continue;
    }
    out.key = *key;
    if (auto entry = cache->Find(*key)) {
      out.state = "cached";
      (*entries)[step.name] = std::move(*entry);
      log(fmt::format("{}: up to date ({})", step.name, key->substr(0, 12)));
      continue;
    }
    if (o.dry_run) {
      out.state = "would run";
      continue;
    }
    log(fmt::format("{}: running", step.name));
    const auto start = std::chrono::steady_clock::now();
    StepContext ctx;
    ASSIGN_OR_RETURN(ctx.out_dir, cache->BeginWork(*key));
    ctx.scratch_dir = fs::path(ctx.out_dir).parent_path() / "scratch";
    ctx.threads = o.threads;
    ctx.tick = [checkpoints] { checkpoints->Tick(); };
    for (const std::string& dep : step.deps) ctx.dep_dirs[dep] = entries->at(dep).out_dir;
    std::error_code ec;
    fs::create_directories(ctx.scratch_dir, ec);
    Result<std::string> note = step.run(ctx);
    if (!note.ok()) {
      cache->AbandonWork(*key);  // a failed step leaves no staging behind
      return note.status().WithContext("build step " + step.name);
    }
    fs::remove_all(ctx.scratch_dir, ec);
    if (max_rss > 0) {
      // The high-water mark of the whole process: a step over the cap fails the build even if it
      // finished, so a cap that holds on this machine holds on the next one.
      auto mem = ReadProcessMemory();
      if (mem.ok() && mem->peak_bytes > max_rss) {
        cache->AbandonWork(*key);
        return Status::FailedPrecondition(
            "build step {}: peak resident memory {} is over max_rss {} (release.json); raise it "
            "or lower what the step holds (profile.layers, measure_tokens)",
            step.name, FormatByteSize(mem->peak_bytes), FormatByteSize(max_rss));
      }
    }
    Result<CacheEntry> committed = cache->Commit(*key, o.threads);
    if (!committed.ok()) {
      cache->AbandonWork(*key);
      return committed.status();
    }
    CacheEntry entry = std::move(committed).value();
    checkpoints->Tick();
    (*entries)[step.name] = std::move(entry);
    out.state = "ran";
    out.note = *note;
    out.seconds = SecondsSince(start);
    log(fmt::format("{}: done in {:.2f} s: {}", step.name, out.seconds, out.note));
  }
  return Status::Ok();
}

// The check a release passes before it is published: digests and signature against the manifest
// it carries (VerifyRelease). Expiry and rollback are the deployment's business, not the build's.
std::function<Status(const std::string&)> ReleaseCheck(const ReleaseSpec& spec, int threads) {
  return [&spec, threads](const std::string& dir) -> Status {
    VerifyOptions v;
    v.dist_dir = dir;
    v.threads = threads;
    if (spec.signing_key.empty()) {
      v.allow_unsigned = true;
    } else {
      ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Load(spec.signing_key));
      v.trusted_keys = {key.public_key()};
    }
    const VerifyReport r = VerifyRelease(v);
    std::vector<std::string> problems;
    for (const VerifyProblem& p : r.problems) {
      if (p.check != VerifyCheck::kExpiry && p.check != VerifyCheck::kRollback) {
        problems.push_back(p.message);
      }
    }
    if (problems.empty()) return Status::Ok();
    if (problems.size() > 5) problems.resize(5);
    return Status::Corruption("the release assembled from the build cache fails verification: {}",
                              fmt::join(problems, "; "));
  };
}

// Steps whose outputs are files of the release (published under OUT/dist).
std::vector<std::string> ReleaseSteps(const std::vector<BuildStep>& steps,
                                      const std::map<std::string, CacheEntry>& entries) {
  std::vector<std::string> names;
  for (const BuildStep& s : steps) {
    auto it = entries.find(s.name);
    if (it == entries.end()) continue;
    const auto& files = it->second.files;
    if (std::any_of(files.begin(), files.end(), [&](const CachedFile& f) {
          return PublishTarget(s, f).starts_with("dist/");
        })) {
      names.push_back(s.name);
    }
  }
  return names;
}

}  // namespace

nlohmann::json ReleaseBuildReportToJson(const ReleaseBuildReport& r) {
  nlohmann::json steps = nlohmann::json::array();
  for (const StepOutcome& s : r.steps) {
    steps.push_back({{"step", s.name},
                     {"state", s.state},
                     {"key", s.key},
                     {"note", s.note},
                     {"seconds", s.seconds}});
  }
  return {{"out", r.out_dir},
          {"steps", steps},
          {"published", r.published},
          {"removed", r.removed},
          {"pruned_cache_entries", r.pruned_cache_entries},
          {"checkpoints", r.checkpoints},
          {"validation_table", r.validation_table},
          {"validation_failed", r.validation_failed},
          {"seconds", r.seconds}};
}

Result<ReleaseSpec> LoadReleaseSpecForBuild(const ReleaseBuildOptions& o) {
  ASSIGN_OR_RETURN(ReleaseSpec spec, ReadReleaseSpec(o.release_path));
  auto absolute = [](const std::string& p) {
    std::error_code ec;
    const fs::path a = fs::absolute(p, ec);
    return (ec ? fs::path(p) : a).lexically_normal().string();
  };
  if (!o.out_override.empty()) spec.output = absolute(o.out_override);
  if (!o.key_override.empty()) spec.signing_key = absolute(o.key_override);
  if (!o.only_node.empty()) {
    int k = -1;
    if (o.only_node.starts_with("node-")) {
      try {
        k = std::stoi(o.only_node.substr(5));
      } catch (...) {
      }
    }
    if (k < 0 || k >= spec.plan.groups || o.only_node != fmt::format("node-{}", k)) {
      return Status::InvalidArgument("--only {}: expected node-0 .. node-{}", o.only_node,
                                     spec.plan.groups - 1);
    }
  }
  return spec;
}

Result<ReleaseBuildReport> RunReleaseBuild(const ReleaseBuildOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(const ReleaseSpec spec, LoadReleaseSpecForBuild(o));
  ASSIGN_OR_RETURN(std::vector<BuildStep> steps, MakeBuildSteps(spec, {o.only_node}));
  ReleaseBuildReport report;
  report.out_dir = spec.output;
  StepCache cache((fs::path(spec.output) / kCacheDir).string());
  std::optional<FileLock> lock, release_lock;
  if (!o.dry_run) {
    ASSIGN_OR_RETURN(FileLock l, AcquireBuildLock(spec.output));
    lock.emplace(std::move(l));
    // The release this build publishes is locked as every release directory is, so a
    // `moedist pack --out OUT/dist` meanwhile fails instead of mixing two releases.
    ASSIGN_OR_RETURN(FileLock rl, LockRelease((fs::path(spec.output) / "dist").string()));
    release_lock.emplace(std::move(rl));
    std::error_code ec;
    fs::create_directories(cache.root(), ec);
    if (ec) return Status::IoError("{}: cannot create: {}", cache.root(), ec.message());
    RETURN_IF_ERROR(cache.RemoveStaleWork());
  }
  ASSIGN_OR_RETURN(auto digests, DigestInputs(steps, o.threads));
  Checkpoints checkpoints(o.kill_at_checkpoint);
  std::map<std::string, CacheEntry> entries;
  RETURN_IF_ERROR(
      RunSteps(o, spec.max_rss, steps, digests, &cache, &checkpoints, &entries, &report));
  if (!o.dry_run) {
    bool release_failed = false;
    const auto release_check = ReleaseCheck(spec, o.threads);
    const std::function<Status(const std::string&)> check = [&](const std::string& dir) {
      Status st = release_check(dir);
      release_failed = !st.ok() && st.code() == StatusCode::kCorruption;
      return st;
    };
    const auto tick = [&checkpoints] { checkpoints.Tick(); };
    Result<PublishOutcome> published =
        PublishOutputs(spec.output, cache.root(), PublishPlan(steps, entries), check, tick);
    if (!published.ok() && release_failed) {
      // Cache entries are trusted by stamp; the release is checked by digest before it is
      // published. A damaged entry is rebuilt once, never published.
      const std::vector<std::string> damaged = ReleaseSteps(steps, entries);
      if (o.log) {
        o.log(fmt::format("{}; rebuilding {}", published.status().message(),
                          fmt::join(damaged, ", ")));
      }
      for (const std::string& name : damaged) {
        RETURN_IF_ERROR(cache.Remove(entries.at(name).key));
        entries.erase(name);
      }
      report.steps.clear();
      RETURN_IF_ERROR(
          RunSteps(o, spec.max_rss, steps, digests, &cache, &checkpoints, &entries, &report));
      published =
          PublishOutputs(spec.output, cache.root(), PublishPlan(steps, entries), check, tick);
    }
    if (!published.ok()) return published.status();
    report.published = std::move(published->linked);
    report.removed = std::move(published->removed);
    if (!o.keep_unused_cache) {
      std::vector<std::string> keep;
      for (const auto& [name, e] : entries) keep.push_back(e.key);
      ASSIGN_OR_RETURN(report.pruned_cache_entries, cache.Prune(keep));
    }
    if (entries.count("validate")) {
      auto table = ReadSmallFile(
          (fs::path(entries.at("validate").out_dir) / "validate" / "quality.txt").string(),
          16ull << 20);
      if (table.ok()) report.validation_table = *table;
      auto verdict = ReadSmallFile(
          (fs::path(entries.at("validate").out_dir) / "validate" / "verdict.txt").string(), 64);
      report.validation_failed = !verdict.ok() || *verdict != "passed\n";
    }
  }
  report.checkpoints = checkpoints.count();
  report.seconds = SecondsSince(start);
  return report;
}

}  // namespace moedist
