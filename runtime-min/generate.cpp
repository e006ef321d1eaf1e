#include "runtime-min/generate.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "runtime-min/forward.h"

namespace moedist {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

void AddIds(const nlohmann::json& v, std::vector<int32_t>& out) {
  if (v.is_number_integer()) out.push_back(v.get<int32_t>());
  if (v.is_array()) {
    for (const auto& e : v) {
      if (e.is_number_integer()) out.push_back(e.get<int32_t>());
    }
  }
}

}  // namespace

std::vector<int32_t> EosTokenIds(const Model& model) {
  std::vector<int32_t> ids;
  const std::string gen = (std::filesystem::path(model.dir()) / "generation_config.json").string();
  if (auto text = ReadSmallFile(gen, 1 << 20); text.ok()) {
    if (auto j = ParseJsonStrict(*text, gen); j.ok() && j->is_object() && j->contains("eos_token_id")) {
      AddIds((*j)["eos_token_id"], ids);
    }
  }
  if (ids.empty() && model.config().raw.contains("eos_token_id")) {
    AddIds(model.config().raw["eos_token_id"], ids);
  }
  return ids;
}

Result<GenerateResult> Generate(const Model& model, std::span<const int32_t> prompt,
                                const GenerateOptions& opt) {
  if (prompt.empty()) return Status::InvalidArgument("the prompt has no tokens");
  if (opt.max_new_tokens < 0) return Status::InvalidArgument("max_new_tokens is negative");
  if (!(opt.sampling.top_p > 0.0f && opt.sampling.top_p <= 1.0f)) {
    return Status::InvalidArgument("top_p {} is outside (0, 1]", opt.sampling.top_p);
  }
  GenerateResult result;
  Sequence seq(model);
  Sampler sampler(opt.sampling);
  std::vector<float> logits;
  ForwardOptions fo;
  fo.mask = opt.mask;
  fo.observer = opt.observer;
  fo.all_logits = false;
  const int vocab = model.config().vocab_size;

  // Prefill: the whole prompt in one call; its last row predicts the first new token.
  auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(Forward(model, seq, prompt, fo, &logits));
  result.prefill_seconds = Seconds(start);
  start = std::chrono::steady_clock::now();
  // Decode: sample, emit, feed the token back.
  for (int i = 0; i < opt.max_new_tokens; ++i) {
    const int32_t next = sampler.Sample(logits.data(), vocab);
    result.tokens.push_back(next);
    if (opt.on_token) opt.on_token(next);
    if (std::find(opt.stop_ids.begin(), opt.stop_ids.end(), next) != opt.stop_ids.end()) {
      result.stopped = true;
      break;
    }
    if (i + 1 == opt.max_new_tokens) break;
    RETURN_IF_ERROR(Forward(model, seq, std::span<const int32_t>(&next, 1), fo, &logits));
  }
  result.decode_seconds = Seconds(start);
  return result;
}

}  // namespace moedist
