// RunEvalJob: everything `moedist eval` does, as one library call (the CLI only parses flags
// and prints): open the model, read the mask and the input (token-id batches, or a text file
// through MODEL/tokenizer.json as one sequence), evaluate teacher-forced, write the optional
// logits and routing files (eval_io.h).
#pragma once

#include <string>

#include "core/status.h"
#include "runtime-min/eval.h"

namespace moedist {

struct EvalJobOptions {
  std::string model_dir;
  std::string text_path;  // exactly one of text_path and ids_path
  std::string ids_path;
  std::string mask_path;    // optional
  std::string logits_out;   // optional; needs sequences of equal length
  std::string routing_out;  // optional
  bool add_bos = false;     // text input: prepend config.json's bos_token_id
};

struct EvalJobReport {
  EvalResult result;
  size_t sequences = 0;
  bool masked = false;
};

Result<EvalJobReport> RunEvalJob(const EvalJobOptions& options);

class Model;
class ExpertMask;
// The same on a model already open (options.model_dir is not read), under `node_mask` (null:
// every expert): how `eval DIST --node` runs a node of a release. options.mask_path must be
// empty; a node runs under its own mask.
Result<EvalJobReport> RunEvalJobOn(const Model& model, const ExpertMask* node_mask,
                                   const EvalJobOptions& options);

// Shared by the eval and run jobs: MODEL/tokenizer.json's ids for `text`, with config.json's
// bos_token_id first when `add_bos`.
Result<std::vector<int32_t>> EncodeWithModelTokenizer(const Model& model, const std::string& text,
                                                      bool add_bos);

}  // namespace moedist
