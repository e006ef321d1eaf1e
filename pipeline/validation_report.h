// ValidationReport: what `moedist validate` found, per node of a release
// (docs/commands/validate.md, schemas/validation.schema.json). ReleaseValidate (release_validate.h)
// fills it; this file turns it into the JSON report and into the smaller `validation` section of
// distribution.json.
//
// Log-probabilities are natural-log means over the eval tokens scored (teacher-forced,
// runtime-min/eval.h). A delta is node − reference: negative means the node predicts the eval
// text worse than the reference model; the "drop" a threshold limits is −delta.
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/session_quality.h"
#include "runtime-min/degeneracy.h"

namespace moedist {

// Defaults a user would defend (docs/commands/validate.md): a node may lose at most 0.1
// nats/token against the full model over every eval prompt (perplexity ×1.105), the worst case
// of a session that lands there regardless of its content; placed sessions at most 0.05 (×1.05).
// The old 1.0 (perplexity ×2.7) passed nodes that lost 0.9 nats/token.
struct ValidateThresholds {
  double max_logprob_drop = 0.1;          // every node, all eval prompts
  double max_placed_logprob_drop = 0.05;  // each prompt on the node `place` picks
  double min_distinct_2 = 0.30;           // mean distinct-2 of the node's greedy generations
  double max_distinct_2_drop = 0.20;      // below the full model's mean distinct-2
  bool require_equivalence = true;        // unquantized nodes: logits equal the masked full model's
};

// Teacher-forced quality of one model on the eval suite.
struct QualityStats {
  double mean_logprob = 0;
  int64_t tokens_scored = 0;
  std::map<std::string, double> domain_mean_logprob;  // domain -> mean
  std::vector<double> prompt_mean_logprob;            // [prompt], eval order
};

struct GenerationSample {
  std::string prompt_id;
  std::string text;  // decoded new tokens ("" without a tokenizer)
  DegeneracyStats stats;
};

// Degeneracy of greedy generations: means over the samples (and the worst sample's distinct-2).
struct DegeneracySummary {
  double distinct_1 = 1, distinct_2 = 1, distinct_3 = 1;
  double worst_distinct_2 = 1;
  int longest_repeated_ngram = 0;  // the longest over samples
  std::vector<GenerationSample> samples;
};

enum class CheckState { kPassed, kFailed, kNotApplicable, kNotRun };
const char* CheckStateName(CheckState s);

struct NodeValidation {
  std::string node;
  std::string mode;                 // slice | mask (moedist_node.json)
  bool quantized = false;           // a block-quantized tensor in the node
  std::map<int, int> held_experts;  // layer -> experts held (group ∪ overlay)
  // 1. verify
  CheckState verify = CheckState::kNotRun;
  std::vector<std::string> verify_problems;  // each names its file
  // 2. load
  CheckState load = CheckState::kNotRun;
  std::string load_error;
  bool materialized = false;  // opened through a plain copy (node_model.h)
  // 3. equivalence with the full model under the node's mask
  CheckState equivalence = CheckState::kNotRun;
  std::string equivalence_detail;  // first difference, or why not applicable
  double max_abs_logit_diff = 0;
  // 3b. the node's GGUF file (pack --format gguf|both): same logits as the safetensors node
  CheckState gguf = CheckState::kNotRun;
  std::string gguf_detail;
  // 4. quality
  std::optional<QualityStats> quality;
  std::optional<double> delta_vs_full;
  std::optional<double> delta_vs_quantized_full;
  CheckState quality_check = CheckState::kNotRun;
  // 5. degeneracy
  std::optional<DegeneracySummary> degeneracy;
  CheckState degeneracy_check = CheckState::kNotRun;

  std::vector<std::string> failures;  // one sentence per failed check
  bool passed() const { return failures.empty(); }
};

// The reference models every node is compared with.
struct ReferenceValidation {
  bool available = false;
  std::string note;  // why not available, or how it was obtained
  std::optional<QualityStats> quality;
  std::optional<DegeneracySummary> degeneracy;
};

struct ValidationReport {
  std::string dist_dir;
  std::string release_name;
  uint64_t release_version = 0;
  std::string manifest_sha256;  // of distribution.json as verified, before validate updated it
  // Eval suite
  std::string eval_file;  // file name only (the manifest must not depend on where it lay)
  std::string eval_sha256;
  std::vector<std::string> eval_prompt_ids;
  std::vector<std::string> eval_prompt_domains;
  int max_prompt_tokens = 0;
  int generation_prompt_tokens = 0;
  int generation_new_tokens = 0;
  ValidateThresholds thresholds;
  // Release-wide verify problems (signature, schema, expiry, files outside any node).
  std::vector<std::string> release_problems;
  ReferenceValidation full;            // the source checkpoint, unmasked
  ReferenceValidation quantized_full;  // the checkpoint packed with the recipe, all experts
  std::string recipe_name;             // the recipe's "name", or ""
  bool recipe_keeps_everything = false;
  std::vector<NodeValidation> nodes;
  // Sessions over the eval suite: worst node, placed and oracle Δ (session_quality.h); set when
  // every node was scored. place_tokens: what the placer saw of each prompt.
  std::optional<SessionQuality> sessions;
  int place_tokens = 0;
  std::string placed_failure;  // the placed-sessions check, when it failed
  // The "budget" object of the release's plan.json when it is a budget plan (plan
  // --node-bytes): its candidates are plotted in the HTML page. Null otherwise.
  nlohmann::json budget;
  // Manifest update
  bool manifest_updated = false;
  bool manifest_signed = false;      // re-signed with the given key
  bool signature_removed = false;    // a stale signature was removed: the release must be re-signed
  std::vector<std::string> notes;    // what a reader should know (quantized loading, ...)
  std::vector<std::string> written;  // report files written

  bool passed() const;
  std::vector<std::string> FailedNodes() const;
};

nlohmann::json ValidationReportToJson(const ValidationReport& report);
// The `validation` object recorded in distribution.json: the verdict, the thresholds, the eval
// suite's digest and per node the figures — nothing that depends on paths, time or machine, so
// validating the same release again gives the same bytes (and a signature stays valid).
nlohmann::json ValidationManifestSection(const ValidationReport& report);

}  // namespace moedist
