#include "pipeline/standin_plan.h"

#include <filesystem>
#include <optional>

#include "formats/tensor_taxonomy.h"
#include "pipeline/calibration_suite.h"
#include "pipeline/standin_file.h"
#include "pipeline/validation_eval.h"
#include "runtime-min/tokenizer.h"

namespace moedist {

namespace fs = std::filesystem;

Result<StandInKind> ParseFileStandInKind(const std::string& name) {
  Result<StandInKind> kind = ParseStandInKindName(name);
  if (kind.ok() && *kind != StandInKind::kConstant) return kind;
  return Status::InvalidArgument(
      "stand-in kind \"{}\": expected proxy-fit or proxy-average (constant stand-ins have no "
      "form stock runtimes load; docs/algorithms.md)",
      name);
}

Result<nlohmann::json> WriteStandInsBesidePlan(const ExpertPlan& plan, StandInKind kind,
                                               const std::string& checkpoint_dir,
                                               const std::string& suite_path,
                                               const std::string& plan_path, int proxies_per_group,
                                               int max_tokens) {
  StandInPlanRequest req;
  req.max_tokens = max_tokens;
  req.proxies_per_group = proxies_per_group;
  req.checkpoint_dir = checkpoint_dir;
  req.suite_path = suite_path;
  req.kind = kind;
  const fs::path out(plan_path);
  const std::string file = out.stem().string() + ".standins.safetensors";
  req.out_path = (out.parent_path() / file).string();
  ASSIGN_OR_RETURN(StandInPlanReport rep, WritePlanStandIns(plan, req));
  return nlohmann::json{{"file", file},
                        {"kind", StandInKindName(kind)},
                        {"calibration_tokens", rep.tokens},
                        {"proxies_per_group", proxies_per_group},
                        {"proxies", rep.proxies}};
}

Result<StandInPlanReport> WritePlanStandIns(const ExpertPlan& plan, const StandInPlanRequest& req) {
  ASSIGN_OR_RETURN(CalibrationSuite suite, ReadCalibrationSuite(req.suite_path));
  ASSIGN_OR_RETURN(std::unique_ptr<Model> full, Model::Open(req.checkpoint_dir));
  std::optional<Tokenizer> tok;
  const fs::path tok_path = fs::path(req.checkpoint_dir) / "tokenizer.json";
  if (fs::exists(tok_path)) {
    ASSIGN_OR_RETURN(Tokenizer t, Tokenizer::LoadFile(tok_path.string()));
    tok = std::move(t);
  }
  ASSIGN_OR_RETURN(EvalPrompts prompts,
                   TokenizeEvalPrompts(suite, tok ? &*tok : nullptr, req.max_tokens, -1));
  ASSIGN_OR_RETURN(StandInCalibration cal, RecordStandInCalibration(*full, prompts.tokens));
  StandInOptions options;
  options.kind = req.kind;
  options.proxies_per_group = req.proxies_per_group;
  ASSIGN_OR_RETURN(FittedStandIns fitted, FitStandIns(*full, plan, cal, options));
  // The routed experts' dtype: proxies are stored as the experts they sit beside.
  ASSIGN_OR_RETURN(std::unique_ptr<Checkpoint> ckpt, Checkpoint::Open(req.checkpoint_dir));
  DType dtype = DType::kBF16;
  for (const CheckpointTensor& t : ckpt->tensors()) {
    Result<TensorRole> role = ClassifyTensor(t.name, ckpt->config());
    if (role.ok() && role->cls == TensorClass::kRoutedExpert && role->part == TensorPart::kWeight) {
      dtype = t.dtype();
      break;
    }
  }
  if (dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16) dtype = DType::kBF16;
  RETURN_IF_ERROR(WriteStandInFile(req.out_path, fitted, dtype));
  StandInPlanReport r;
  r.tokens = cal.tokens;
  for (const auto& [layer, proxies] : fitted.proxies) r.proxies += int(proxies.size());
  return r;
}

}  // namespace moedist
