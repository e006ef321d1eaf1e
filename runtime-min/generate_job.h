// RunGenerateJob: everything `moedist run` does, as one library call: open the model, read the
// mask, take the prompt as text (MODEL/tokenizer.json) or as token ids, generate, decode, and
// measure degeneracy of what was generated.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "runtime-min/degeneracy.h"
#include "runtime-min/generate.h"

namespace moedist {

struct GenerateJobOptions {
  std::string model_dir;
  std::string prompt;      // text, or
  std::string prompt_ids;  // a JSON array of token ids
  std::string mask_path;   // optional
  int max_tokens = 64;
  SamplingOptions sampling;
  bool add_bos = false;     // text prompt: prepend config.json's bos_token_id
  bool ignore_eos = false;  // keep going past end-of-sequence tokens
  // Streaming: called with each new piece of decoded text (or "<id> " without a tokenizer).
  std::function<void(std::string_view)> on_text;
};

struct GenerateJobReport {
  std::vector<int32_t> prompt_ids;
  GenerateResult generation;
  bool has_tokenizer = false;
  std::string text;  // decoded new tokens (empty without a tokenizer)
  DegeneracyStats degeneracy;
};

Result<GenerateJobReport> RunGenerateJob(const GenerateJobOptions& options);

class Model;
class ExpertMask;
// The same on a model already open (options.model_dir is not read), under `node_mask` (null:
// every expert): how `run DIST --node` runs a node of a release. options.mask_path must be
// empty; a node runs under its own mask.
Result<GenerateJobReport> RunGenerateJobOn(const Model& model, const ExpertMask* node_mask,
                                           const GenerateJobOptions& options);

}  // namespace moedist
