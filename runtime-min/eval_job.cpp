#include "runtime-min/eval_job.h"

#include <filesystem>

#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "runtime-min/eval_io.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/model.h"
#include "runtime-min/tokenizer.h"

namespace moedist {

Result<std::vector<int32_t>> EncodeWithModelTokenizer(const Model& model, const std::string& text,
                                                      bool add_bos) {
  const std::string path = (std::filesystem::path(model.dir()) / "tokenizer.json").string();
  if (!std::filesystem::exists(path)) {
    return Status::NotFound("{}: no tokenizer.json; pass token ids instead", path);
  }
  ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::LoadFile(path));
  ASSIGN_OR_RETURN(std::vector<int32_t> ids, tok.Encode(text));
  if (add_bos) {
    const nlohmann::json& raw = model.config().raw;
    if (!raw.contains("bos_token_id") || !raw["bos_token_id"].is_number_integer()) {
      return Status::Corruption("{}/config.json: no integer \"bos_token_id\" for --add-bos",
                                model.dir());
    }
    ids.insert(ids.begin(), raw["bos_token_id"].get<int32_t>());
  }
  return ids;
}

Result<EvalJobReport> RunEvalJob(const EvalJobOptions& o) {
  if (o.text_path.empty() == o.ids_path.empty()) {
    return Status::InvalidArgument("give exactly one of --text and --ids");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Open(o.model_dir));
  if (o.mask_path.empty()) return RunEvalJobOn(*model, nullptr, o);
  ASSIGN_OR_RETURN(ExpertMask mask, ExpertMask::Load(o.mask_path, model->config()));
  EvalJobOptions rest = o;
  rest.mask_path.clear();
  return RunEvalJobOn(*model, &mask, rest);
}

Result<EvalJobReport> RunEvalJobOn(const Model& model_ref, const ExpertMask* node_mask,
                                   const EvalJobOptions& o) {
  if (o.text_path.empty() == o.ids_path.empty()) {
    return Status::InvalidArgument("give exactly one of --text and --ids");
  }
  if (!o.mask_path.empty()) {
    return Status::InvalidArgument("--mask: a node of a release runs under its own expert mask");
  }
  const Model* model = &model_ref;
  const ModelConfig& c = model->config();
  EvalJobReport report;
  report.masked = node_mask != nullptr;
  std::vector<std::vector<int32_t>> batches;
  if (!o.ids_path.empty()) {
    ASSIGN_OR_RETURN(batches, LoadTokenIdBatches(o.ids_path, c.vocab_size));
  } else {
    ASSIGN_OR_RETURN(std::string text, ReadSmallFile(o.text_path, uint64_t{1} << 30));
    ASSIGN_OR_RETURN(std::vector<int32_t> ids, EncodeWithModelTokenizer(*model, text, o.add_bos));
    if (ids.empty()) return Status::InvalidArgument("{}: the text has no tokens", o.text_path);
    batches.push_back(std::move(ids));
  }
  const size_t seq_len = batches[0].size();
  if (!o.logits_out.empty()) {
    for (size_t b = 1; b < batches.size(); ++b) {
      if (batches[b].size() != seq_len) {
        return Status::InvalidArgument(
            "--logits-out writes [B, S, V] and needs sequences of "
            "equal length: sequence 0 has {} tokens, sequence {} has {}",
            seq_len, b, batches[b].size());
      }
    }
  }
  std::vector<float> all_logits;
  SelectionRecorder recorder;
  EvalOptions eo;
  eo.mask = node_mask;
  if (!o.routing_out.empty()) eo.observer = &recorder;
  eo.on_logits = [&](size_t, std::span<const float> logits) {
    recorder.EndSequence();
    if (!o.logits_out.empty()) all_logits.insert(all_logits.end(), logits.begin(), logits.end());
  };
  ASSIGN_OR_RETURN(report.result, EvaluateSequences(*model, batches, eo));
  report.sequences = batches.size();
  if (!o.logits_out.empty()) {
    RETURN_IF_ERROR(
        WriteLogitsSafetensors(o.logits_out, all_logits, batches.size(), seq_len, c.vocab_size));
  }
  if (!o.routing_out.empty()) {
    RETURN_IF_ERROR(WriteFileAtomically(o.routing_out, recorder.ToJson().dump() + "\n"));
  }
  return report;
}

}  // namespace moedist
