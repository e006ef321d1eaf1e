#include "pipeline/validation_report.h"

#include <cmath>

#include "runtime-min/unicode_utf8.h"

namespace moedist {
namespace {

using json = nlohmann::json;

// Figures rounded to 6 decimals: enough to compare nodes, and stable text in the manifest.
json Num(double v) {
  if (!std::isfinite(v)) return nullptr;
  return std::round(v * 1e6) / 1e6;
}
json OptNum(const std::optional<double>& v) {
  return v ? Num(*v) : json(nullptr);
}

json QualityJson(const QualityStats& q, bool with_prompts) {
  json domains = json::object();
  for (const auto& [d, v] : q.domain_mean_logprob) domains[d] = Num(v);
  json j = {{"mean_logprob", Num(q.mean_logprob)},
            {"tokens_scored", q.tokens_scored},
            {"domains", domains}};
  if (with_prompts) {
    json prompts = json::array();
    for (double v : q.prompt_mean_logprob) prompts.push_back(Num(v));
    j["prompts"] = prompts;
  }
  return j;
}

json DegeneracyJson(const DegeneracySummary& d, bool with_samples) {
  json j = {{"distinct_1", Num(d.distinct_1)},
            {"distinct_2", Num(d.distinct_2)},
            {"distinct_3", Num(d.distinct_3)},
            {"worst_distinct_2", Num(d.worst_distinct_2)},
            {"longest_repeated_ngram", d.longest_repeated_ngram}};
  if (with_samples) {
    json samples = json::array();
    for (const GenerationSample& s : d.samples) {
      samples.push_back({{"prompt_id", s.prompt_id},
                         {"text", s.text},
                         {"distinct_2", Num(s.stats.distinct_2)},
                         {"longest_repeated_ngram", s.stats.longest_repeated_ngram}});
    }
    j["samples"] = samples;
  }
  return j;
}

json ReferenceJson(const ReferenceValidation& r, bool full_detail) {
  json j = {{"available", r.available}, {"note", r.note}};
  if (r.quality) j["quality"] = QualityJson(*r.quality, full_detail);
  if (r.degeneracy) j["degeneracy"] = DegeneracyJson(*r.degeneracy, full_detail);
  return j;
}

json ThresholdsJson(const ValidateThresholds& t) {
  return {{"max_logprob_drop", Num(t.max_logprob_drop)},
          {"max_placed_logprob_drop", Num(t.max_placed_logprob_drop)},
          {"min_distinct_2", Num(t.min_distinct_2)},
          {"max_distinct_2_drop", Num(t.max_distinct_2_drop)},
          {"require_equivalence", t.require_equivalence}};
}

json HeldJson(const std::map<int, int>& held) {
  json j = json::object();
  for (const auto& [layer, n] : held) j[std::to_string(layer)] = n;
  return j;
}

json NodeJson(const NodeValidation& n, bool full_detail) {
  json j = {{"node", n.node},
            {"passed", n.passed()},
            {"failures", n.failures},
            {"mode", n.mode},
            {"quantized", n.quantized},
            {"held_experts", HeldJson(n.held_experts)},
            {"verify", CheckStateName(n.verify)},
            {"load", CheckStateName(n.load)},
            {"equivalence", CheckStateName(n.equivalence)},
            {"gguf", CheckStateName(n.gguf)},
            {"quality_check", CheckStateName(n.quality_check)},
            {"degeneracy_check", CheckStateName(n.degeneracy_check)},
            {"delta_vs_full", OptNum(n.delta_vs_full)},
            {"delta_vs_quantized_full", OptNum(n.delta_vs_quantized_full)}};
  if (n.quality) j["quality"] = QualityJson(*n.quality, full_detail);
  if (n.degeneracy) j["degeneracy"] = DegeneracyJson(*n.degeneracy, full_detail);
  if (n.equivalence == CheckState::kPassed || n.equivalence == CheckState::kFailed) {
    j["max_abs_logit_diff"] = Num(n.max_abs_logit_diff);
  }
  if (full_detail) {
    j["gguf_detail"] = n.gguf_detail;
    j["verify_problems"] = n.verify_problems;
    j["load_error"] = n.load_error;
    j["materialized"] = n.materialized;
    j["equivalence_detail"] = n.equivalence_detail;
  }
  return j;
}

// Messages can carry file names found on disk, which need not be UTF-8; JSON must be.
json Sanitized(json j) {
  if (j.is_string()) return unicode::Utf8Lossy(j.get_ref<const std::string&>());
  if (j.is_structured()) {
    for (auto& v : j) v = Sanitized(std::move(v));
  }
  return j;
}

}  // namespace

const char* CheckStateName(CheckState s) {
  switch (s) {
    case CheckState::kPassed: return "passed";
    case CheckState::kFailed: return "failed";
    case CheckState::kNotApplicable: return "not_applicable";
    case CheckState::kNotRun: return "not_run";
  }
  return "not_run";
}

static json SessionsJson(const ValidationReport& r) {
  if (!r.sessions) return nullptr;
  json j = SessionQualityToJson(*r.sessions);
  j["place_tokens"] = r.place_tokens;
  j["placed_passed"] = r.placed_failure.empty();
  return j;
}

bool ValidationReport::passed() const {
  if (!release_problems.empty() || nodes.empty() || !placed_failure.empty()) return false;
  for (const NodeValidation& n : nodes) {
    if (!n.passed()) return false;
  }
  return true;
}

std::vector<std::string> ValidationReport::FailedNodes() const {
  std::vector<std::string> out;
  for (const NodeValidation& n : nodes) {
    if (!n.passed()) out.push_back(n.node);
  }
  return out;
}

json ValidationReportToJson(const ValidationReport& r) {
  json nodes = json::array();
  for (const NodeValidation& n : r.nodes) nodes.push_back(NodeJson(n, true));
  json prompts = json::array();
  for (size_t i = 0; i < r.eval_prompt_ids.size(); ++i) {
    prompts.push_back({{"id", r.eval_prompt_ids[i]}, {"domain", r.eval_prompt_domains[i]}});
  }
  return Sanitized(
      {{"version", 1},
       {"passed", r.passed()},
       {"failed_nodes", r.FailedNodes()},
       {"dist", r.dist_dir},
       {"release", {{"name", r.release_name}, {"version", r.release_version}}},
       {"manifest_sha256", r.manifest_sha256},
       {"eval",
        {{"file", r.eval_file},
         {"sha256", r.eval_sha256},
         {"prompts", prompts},
         {"max_prompt_tokens", r.max_prompt_tokens}}},
       {"generation",
        {{"prompt_tokens", r.generation_prompt_tokens},
         {"new_tokens", r.generation_new_tokens},
         {"sampling", "greedy"}}},
       {"thresholds", ThresholdsJson(r.thresholds)},
       {"recipe", {{"name", r.recipe_name}, {"keeps_everything", r.recipe_keeps_everything}}},
       {"release_problems", r.release_problems},
       {"full", ReferenceJson(r.full, true)},
       {"quantized_full", ReferenceJson(r.quantized_full, true)},
       {"nodes", nodes},
       {"sessions", SessionsJson(r)},
       {"manifest",
        {{"updated", r.manifest_updated},
         {"signed", r.manifest_signed},
         {"signature_removed", r.signature_removed}}},
       {"notes", r.notes},
       {"written", r.written}});
}

json ValidationManifestSection(const ValidationReport& r) {
  json nodes = json::object();
  for (const NodeValidation& n : r.nodes) nodes[n.node] = NodeJson(n, false);
  return Sanitized(
      {{"tool", "moedist validate"},
       {"passed", r.passed()},
       {"failed_nodes", r.FailedNodes()},
       {"eval",
        {{"file", r.eval_file},
         {"sha256", r.eval_sha256},
         {"prompts", r.eval_prompt_ids.size()},
         {"max_prompt_tokens", r.max_prompt_tokens}}},
       {"generation",
        {{"prompt_tokens", r.generation_prompt_tokens}, {"new_tokens", r.generation_new_tokens}}},
       {"thresholds", ThresholdsJson(r.thresholds)},
       {"full", ReferenceJson(r.full, false)},
       {"quantized_full", ReferenceJson(r.quantized_full, false)},
       {"nodes", nodes},
       {"sessions", SessionsJson(r)}});
}

}  // namespace moedist
