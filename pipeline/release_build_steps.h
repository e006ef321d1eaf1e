// The steps of `moedist build` (docs/commands/build.md): inspect → profile → plan → pack →
// sign → validate, each a library call that writes its outputs into a cache work directory.
//
// What each step's cache key covers is chosen so that a change re-runs only what it must:
//   inspect   checkpoint files; groups (for the node estimate)
//   profile   checkpoint files, calibration suite, profile options (not plan options)
//   plan      profile outputs, plan options (groups, overlay, strategy, ...)
//   pack      checkpoint files, plan.json, recipe file, release fields, shard size
//   sign      pack's distribution.json, the key file
//   validate  pack and sign outputs, eval suite, validate options, --only
// Keys hash the outputs of the steps a step reads, not their keys, so a step that re-runs and
// writes identical bytes does not invalidate what follows. Thread counts are never part of a
// key: every step's bytes are independent of them.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/release_build_spec.h"

namespace moedist {

struct StepInput {
  std::string label;  // names the input in the key ("checkpoint/config.json")
  std::string path;
};

struct StepContext {
  std::string out_dir;                          // where the step writes (empty at start)
  std::string scratch_dir;                      // may be used freely; not kept
  std::map<std::string, std::string> dep_dirs;  // step it reads -> its committed out/ dir
  int threads = 1;
  std::function<void()> tick;  // crash-test hook, for steps with many inner publications
};

struct BuildStep {
  std::string name;
  std::vector<std::string> deps;  // steps whose outputs it reads
  std::vector<StepInput> inputs;  // external files it reads
  nlohmann::json params;          // every option that changes its output
  std::string publish_dir;        // where its outputs appear under OUT
  bool available = true;
  std::string unavailable_note;
  // Runs the step; returns a one-line summary for the build log.
  std::function<Result<std::string>(const StepContext&)> run;
};

struct BuildStepSettings {
  std::string only_node;  // "" or "node-K": validate only that node
};

Result<std::vector<BuildStep>> MakeBuildSteps(const ReleaseSpec& spec,
                                              const BuildStepSettings& settings);

// The checkpoint directory's regular files (top level), as step inputs.
Result<std::vector<StepInput>> CheckpointInputs(const std::string& checkpoint_dir);

}  // namespace moedist
