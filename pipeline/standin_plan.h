// `plan --standins KIND`: fits proxy experts for a plan on the calibration suite
// (standin_fit.h) and writes them beside plan.json (standin_file.h), which then names the file
// in its "standins" section for `pack`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "pipeline/expert_plan.h"
#include "pipeline/standin_fit.h"

namespace moedist {

struct StandInPlanRequest {
  std::string checkpoint_dir;
  std::string suite_path;  // calibration suite (JSONL)
  int max_tokens = 256;    // tokens per prompt recorded
  StandInKind kind = StandInKind::kProxyFit;
  int proxies_per_group = 1;  // StandInOptions::proxies_per_group
  std::string out_path;       // the stand-in file
};

struct StandInPlanReport {
  int64_t tokens = 0;  // calibration tokens recorded
  int proxies = 0;     // proxies written, over every MoE layer
};

// Fits and writes; the file's matrices take the checkpoint's routed-expert dtype.
Result<StandInPlanReport> WritePlanStandIns(const ExpertPlan& plan, const StandInPlanRequest& req);

// Fits `kind` stand-ins for `plan` and writes them beside `plan_path` as
// <stem>.standins.safetensors; returns plan.json's "standins" section for them.
Result<nlohmann::json> WriteStandInsBesidePlan(const ExpertPlan& plan, StandInKind kind,
                                               const std::string& checkpoint_dir,
                                               const std::string& suite_path,
                                               const std::string& plan_path,
                                               int proxies_per_group = 1, int max_tokens = 256);

// Parses "proxy-fit" / "proxy-average" (the kinds with a file form).
Result<StandInKind> ParseFileStandInKind(const std::string& name);

}  // namespace moedist
