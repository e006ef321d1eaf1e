// The validate step of `moedist build`, behind a small interface so the build does not depend
// on how validation is implemented (pipeline/release_validate.h, `moedist validate`).
//
// RunBuildValidator gets a complete release directory (`dist_dir`: pack's files, plus the
// signature when the release is signed; distribution.json and its .sig are private copies the
// validator may rewrite) and writes its reports under `out_dir`. When it updates the manifest
// (the validation section, then re-signs), it leaves distribution.json and
// distribution.json.sig in `dist_dir`; the step then publishes them over pack's and sign's.
// The implementation is pipeline/release_validate.h (ValidateRelease); `options` are its sizes
// and thresholds, refused by name when unknown or ill-typed. BuildValidatorAvailable() says
// whether one is compiled in; when not, the build reports the step as skipped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace moedist {

struct BuildValidateRequest {
  std::string dist_dir;
  std::string checkpoint;  // the release's source
  std::string eval_suite;
  std::string profile;      // profile.json, for the report's plots ("" = none)
  std::string plan;         // plan.json: a budget plan's candidates are plotted ("" = none)
  std::string scratch_dir;  // working space, removed by the caller
  std::string signing_key;  // "" = unsigned release
  std::string only_node;    // "" = every node
  nlohmann::json options;   // release.json "validate" (thresholds)
  int threads = 1;
  std::string out_dir;
};

struct BuildValidateOutcome {
  bool passed = false;
  std::string table;  // the per-node quality table, as text
};

bool BuildValidatorAvailable();
// release.json validate.tier_bytes (or another byte size): an integer, or a string as
// --tier-bytes takes it ("4M"); anything else is refused naming `where`.
Result<uint64_t> SpecByteSize(const nlohmann::json& value, const std::string& where);
Result<BuildValidateOutcome> RunBuildValidator(const BuildValidateRequest& request);

}  // namespace moedist
