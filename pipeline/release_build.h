// RunReleaseBuild: `moedist build release.json` (docs/commands/build.md). Reads the release
// spec, hashes the external inputs, and runs the steps (release_build_steps.h) in order
// against the content-addressed cache (release_build_cache.h): a step whose key has a committed
// entry is skipped. When every step has finished, the outputs are published under OUT as hard
// links to the cache (release_build_publish.h) and cache entries this build did not use are
// deleted. A failing step stops the build before anything is published; what finished stays
// cached, so the next build resumes there. The whole build holds OUT's lock (release_build_lock.h).
// Thread safety: one build per OUT (the lock); `threads` is passed to the steps.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace moedist {

struct ReleaseBuildOptions {
  std::string release_path;  // release.json
  std::string out_override;  // "" = release.json "output"
  std::string key_override;  // "" = release.json "signing_key"
  int threads = 1;
  bool dry_run = false;      // print what would run; write nothing
  std::string only_node;     // "node-K": validate only that node
  std::string tool_version;  // part of every cache key
  bool keep_unused_cache = false;
  // Crash-test hook: the process kills itself (SIGKILL) at the n-th checkpoint (a committed
  // cache entry, a published or removed file, a tensor written by pack). 0 = never.
  uint64_t kill_at_checkpoint = 0;
  std::function<void(const std::string&)> log;  // one line per step as it starts and ends
};

struct StepOutcome {
  std::string name;
  std::string state;  // ran | cached | would run | skipped | not reached
  std::string key;
  std::string note;
  double seconds = 0;
};

struct ReleaseBuildReport {
  std::string out_dir;
  std::vector<StepOutcome> steps;
  std::vector<std::string> published;  // files (re)linked under OUT
  std::vector<std::string> removed;    // stale files deleted
  size_t pruned_cache_entries = 0;
  uint64_t checkpoints = 0;  // crash-test checkpoints passed
  std::string validation_table;
  bool validation_failed = false;  // the validator ran (now or in a cached step) and a node failed
  double seconds = 0;
};

struct ReleaseSpec;
// release.json with the options' overrides applied and --only checked.
Result<ReleaseSpec> LoadReleaseSpecForBuild(const ReleaseBuildOptions& options);

nlohmann::json ReleaseBuildReportToJson(const ReleaseBuildReport& report);

Result<ReleaseBuildReport> RunReleaseBuild(const ReleaseBuildOptions& options);

}  // namespace moedist
