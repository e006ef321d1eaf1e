#include "pipeline/release_build_validate.h"

#include <fmt/format.h>

#include <set>

#include "core/byte_size.h"
#include "manifest/release_signing.h"
#include "pipeline/release_validate.h"

namespace moedist {
namespace {

// release.json "validate": ValidateRelease's sizes and thresholds, each checked by name.
Status ApplyOptions(const nlohmann::json& j, ValidateOptions* v) {
  static const std::set<std::string> kInts = {"max_prompt_tokens", "generation_prompts",
                                              "generation_prompt_tokens", "generation_new_tokens",
                                              "place_tokens"};
  static const std::set<std::string> kNumbers = {"max_logprob_drop", "max_placed_logprob_drop",
                                                 "min_distinct_2", "max_distinct_2_drop"};
  static const std::set<std::string> kBools = {"add_bos", "require_equivalence"};
  for (const auto& [key, value] : j.items()) {
    const std::string where = "release.json validate." + key;
    if (kInts.count(key)) {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
          value.get<int64_t>() > 1 << 20) {
        return Status::InvalidArgument("{}: expected an integer in 0..{}", where, 1 << 20);
      }
    } else if (kNumbers.count(key)) {
      if (!value.is_number() || value.get<double>() < 0) {
        return Status::InvalidArgument("{}: expected a non-negative number", where);
      }
    } else if (kBools.count(key)) {
      if (!value.is_boolean()) return Status::InvalidArgument("{}: expected true or false", where);
    } else if (key == "tier_bytes") {
      ASSIGN_OR_RETURN(v->tier_bytes, SpecByteSize(value, where));
    } else {
      return Status::InvalidArgument("{}: unknown field", where);
    }
  }
  auto get = [&](const char* key, auto* out) {
    if (j.contains(key)) *out = j[key].get<std::remove_pointer_t<decltype(out)>>();
  };
  get("max_prompt_tokens", &v->max_prompt_tokens);
  get("generation_prompts", &v->generation_prompts);
  get("generation_prompt_tokens", &v->generation_prompt_tokens);
  get("generation_new_tokens", &v->generation_new_tokens);
  get("add_bos", &v->add_bos);
  get("place_tokens", &v->place_tokens);
  get("max_logprob_drop", &v->thresholds.max_logprob_drop);
  get("max_placed_logprob_drop", &v->thresholds.max_placed_logprob_drop);
  get("min_distinct_2", &v->thresholds.min_distinct_2);
  get("max_distinct_2_drop", &v->thresholds.max_distinct_2_drop);
  get("require_equivalence", &v->thresholds.require_equivalence);
  return Status::Ok();
}

std::string Delta(const std::optional<double>& v) {
  return v ? fmt::format("{:+.4f}", *v) : std::string("-");
}

// The per-node quality table `moedist build` prints.
std::string QualityTable(const ValidationReport& r) {
  std::string t;
  for (const auto* ref : {&r.full, &r.quantized_full}) {
    const char* name = ref == &r.full ? "full" : "quantized";
    t += ref->quality ? fmt::format("{:<10} mean log-prob {:.4f} ({})\n", name,
                                    ref->quality->mean_logprob, ref->note)
                      : fmt::format("{:<10} {}\n", name, ref->note);
  }
  t += fmt::format("{:<8} {:<6} {:<11} {:>9} {:>9} {:>9} {:>10}  {}\n", "node", "mode",
                   "equivalence", "logprob", "Δ full", "Δ quant", "distinct-2", "verdict");
  for (const NodeValidation& n : r.nodes) {
    t += fmt::format("{:<8} {:<6} {:<11} {:>9} {:>9} {:>9} {:>10}  {}\n", n.node, n.mode,
                     CheckStateName(n.equivalence),
                     n.quality ? fmt::format("{:.4f}", n.quality->mean_logprob) : "-",
                     Delta(n.delta_vs_full), Delta(n.delta_vs_quantized_full),
                     n.degeneracy ? fmt::format("{:.3f}", n.degeneracy->distinct_2) : "-",
                     n.passed() ? "ok" : "FAILED");
    for (const std::string& f : n.failures) t += "         " + f + "\n";
  }
  for (const std::string& p : r.release_problems) t += "problem  " + p + "\n";
  for (const std::string& note : r.notes) t += "note     " + note + "\n";
  return t + fmt::format("validate: {}\n", r.passed() ? "OK" : "FAILED");
}

}  // namespace

Result<uint64_t> SpecByteSize(const nlohmann::json& value, const std::string& where) {
  if (value.is_string()) return ParseByteSize(value.get<std::string>(), where);
  // Integers written in JSON text are unsigned when positive; json(5) built in code is signed.
  if (value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0)) {
    return value.get<uint64_t>();
  }
  return Status::InvalidArgument("{}: expected a byte size such as 4194304 or \"4M\"", where);
}

bool BuildValidatorAvailable() {
  return true;
}

Result<BuildValidateOutcome> RunBuildValidator(const BuildValidateRequest& r) {
  ValidateOptions v;
  v.dist_dir = r.dist_dir;
  v.eval_path = r.eval_suite;
  v.checkpoint_dir = r.checkpoint;
  if (!r.only_node.empty()) v.node = r.only_node;
  std::optional<PrivateKey> key;
  if (r.signing_key.empty()) {
    v.allow_unsigned = true;
  } else {
    ASSIGN_OR_RETURN(key, PrivateKey::Load(r.signing_key));
    v.trusted_keys.push_back(key->public_key());
    v.sign_key = &*key;
  }
  v.threads = r.threads;
  v.scratch_dir = r.scratch_dir;
  v.report_dir = r.out_dir;
  v.profile_path = r.profile;
  v.plan_path = r.plan;
  RETURN_IF_ERROR(ApplyOptions(r.options, &v));
  ASSIGN_OR_RETURN(ValidationReport report, ValidateRelease(v));
  return BuildValidateOutcome{report.passed(), QualityTable(report)};
}

}  // namespace moedist
