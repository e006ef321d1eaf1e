#include "runtime-min/generate_job.h"

#include <filesystem>
#include <optional>

#include "core/json_strict.h"
#include "runtime-min/eval_job.h"
#include "runtime-min/model.h"
#include "runtime-min/tokenizer.h"

namespace moedist {
namespace {

Result<std::vector<int32_t>> ParsePromptIds(const std::string& text, int vocab) {
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(text, "--prompt-ids"));
  if (!j.is_array() || j.empty()) {
    return Status::InvalidArgument("--prompt-ids: expected a non-empty JSON array of token ids");
  }
  std::vector<int32_t> ids;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number_integer() || j[i].get<int64_t>() < 0 || j[i].get<int64_t>() >= vocab) {
      return Status::InvalidArgument(
          "--prompt-ids: position {}: {} is not a token id in "
          "[0, {})",
          i, j[i].dump(), vocab);
    }
    ids.push_back(j[i].get<int32_t>());
  }
  return ids;
}

}  // namespace

Result<GenerateJobReport> RunGenerateJob(const GenerateJobOptions& o) {
  if (o.prompt.empty() == o.prompt_ids.empty()) {
    return Status::InvalidArgument("give exactly one of --prompt and --prompt-ids");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Open(o.model_dir));
  if (o.mask_path.empty()) return RunGenerateJobOn(*model, nullptr, o);
  ASSIGN_OR_RETURN(ExpertMask mask, ExpertMask::Load(o.mask_path, model->config()));
  GenerateJobOptions rest = o;
  rest.mask_path.clear();
  return RunGenerateJobOn(*model, &mask, rest);
}

Result<GenerateJobReport> RunGenerateJobOn(const Model& model_ref, const ExpertMask* node_mask,
                                           const GenerateJobOptions& o) {
  if (o.prompt.empty() == o.prompt_ids.empty()) {
    return Status::InvalidArgument("give exactly one of --prompt and --prompt-ids");
  }
  if (!o.mask_path.empty()) {
    return Status::InvalidArgument("--mask: a node of a release runs under its own expert mask");
  }
  const Model* model = &model_ref;
  GenerateJobReport report;
  if (!o.prompt.empty()) {
    ASSIGN_OR_RETURN(report.prompt_ids, EncodeWithModelTokenizer(*model, o.prompt, o.add_bos));
    if (report.prompt_ids.empty()) return Status::InvalidArgument("the prompt has no tokens");
  } else {
    ASSIGN_OR_RETURN(report.prompt_ids, ParsePromptIds(o.prompt_ids, model->config().vocab_size));
  }
  std::optional<Tokenizer> tok;
  const std::string tok_path = (std::filesystem::path(model->dir()) / "tokenizer.json").string();
  if (std::filesystem::exists(tok_path)) {
    ASSIGN_OR_RETURN(tok, Tokenizer::LoadFile(tok_path));
    report.has_tokenizer = true;
  }
  GenerateOptions go;
  go.max_new_tokens = o.max_tokens;
  go.sampling = o.sampling;
  go.mask = node_mask;
  if (!o.ignore_eos) go.stop_ids = EosTokenIds(*model);
  // Stream text as it becomes whole: decode everything so far and emit what is new, holding
  // back while a character is still split across tokens (the decoder shows it as U+FFFD).
  std::vector<int32_t> so_far;
  std::string streamed;
  go.on_token = [&](int32_t id) {
    so_far.push_back(id);
    if (!o.on_text) return;
    if (!tok) {
      o.on_text(fmt::format("{} ", id));
      return;
    }
    std::string text = tok->Decode(so_far);
    if (text.ends_with("\xEF\xBF\xBD") || text.size() <= streamed.size() ||
        text.compare(0, streamed.size(), streamed) != 0) {
      return;
    }
    o.on_text(std::string_view(text).substr(streamed.size()));
    streamed = std::move(text);
  };
  ASSIGN_OR_RETURN(report.generation, Generate(*model, report.prompt_ids, go));
  if (tok) report.text = tok->Decode(report.generation.tokens);
  report.degeneracy = MeasureDegeneracy(report.generation.tokens);
  return report;
}

}  // namespace moedist
