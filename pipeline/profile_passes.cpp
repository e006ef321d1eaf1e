#include "pipeline/profile_passes.h"

#include <chrono>

#include "pipeline/profile_memory.h"
#include "runtime-min/forward.h"
#include "runtime-min/layer_stream.h"

namespace moedist {
namespace {

Status RefuseNonFinite(const ProfileAccumulator& acc, const ProfileOptions& o) {
  if (acc.first_nonfinite().empty()) return Status::Ok();
  return Status::Corruption(
      "{}: router scores are NaN or Inf at {}; refusing to record "
      "statistics from a broken model",
      o.checkpoint, acc.first_nonfinite());
}

}  // namespace

Status RunPromptByPrompt(const Model& model, const CalibrationSuite& suite,
                         const std::vector<std::vector<int32_t>>& ids, const ProfileOptions& o,
                         uint64_t estimate, ProfileAccumulator& acc, GateProfile& p,
                         ActivationObserver* activations) {
  Sequence seq(model);
  ForwardOptions fo;
  fo.observer = &acc;
  fo.activations = activations;
  fo.all_logits = false;
  for (size_t i = 0; i < suite.prompts.size(); ++i) {
    const CalibrationPrompt& prompt = suite.prompts[i];
    acc.BeginPrompt(prompt.id, prompt.domain, static_cast<uint32_t>(ids[i].size()));
    seq.Reset();
    Status st = Forward(model, seq, ids[i], fo, nullptr);
    if (!st.ok()) return st.WithContext(fmt::format("{}: prompt \"{}\"", o.suite, prompt.id));
    RETURN_IF_ERROR(RefuseNonFinite(acc, o));
    if (o.max_rss > 0) {
      RETURN_IF_ERROR(
          CheckResidentLimit(o.max_rss, estimate, fmt::format("after prompt \"{}\"", prompt.id))
              .status());
    }
    if (o.progress) o.progress(i + 1, suite.prompts.size(), p.tokens);
  }
  return Status::Ok();
}

Status RunLayerStream(const Model& model, const WeightPages& pages, const CalibrationSuite& suite,
                      const std::vector<std::vector<int32_t>>& ids, const ProfileOptions& o,
                      int last_layer, uint64_t estimate, ProfileAccumulator& acc, GateProfile& p,
                      ActivationObserver* activations) {
  for (size_t i = 0; i < suite.prompts.size(); ++i) {
    acc.BeginPrompt(suite.prompts[i].id, suite.prompts[i].domain,
                    static_cast<uint32_t>(ids[i].size()));
  }
  const auto start = std::chrono::steady_clock::now();
  ProfileLayerProgress progress{-1, 0, last_layer + 1, p.tokens, 0, 0, 0, estimate};
  if (o.layer_progress) o.layer_progress(progress);
  LayerStreamOptions lo;
  lo.last_layer = last_layer;
  lo.observer = &acc;
  lo.activations = activations;
  lo.release = &pages;
  lo.on_prompt = [&acc](int, size_t prompt) { acc.SelectPrompt(prompt); };
  lo.on_layer_done = [&](int layer) -> Status {
    RETURN_IF_ERROR(RefuseNonFinite(acc, o));
    Result<ProcessMemory> m =
        CheckResidentLimit(o.max_rss, estimate, fmt::format("during layer {}", layer));
    if (!m.ok() && o.max_rss > 0) return m.status();
    progress.layer = layer;
    progress.layers_done = layer + 1;
    progress.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.rss_bytes = m.ok() ? m->rss_bytes : 0;
    progress.peak_bytes = m.ok() ? m->peak_bytes : 0;
    if (o.layer_progress) o.layer_progress(progress);
    return Status::Ok();
  };
  Status st = ForwardLayerMajor(model, ids, lo);
  if (!st.ok()) return st.WithContext(o.suite);
  return Status::Ok();
}

}  // namespace moedist
