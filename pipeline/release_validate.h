// ValidateRelease: `moedist validate` — every node of a release written by `moedist pack`,
// end to end (docs/commands/validate.md). A library call so `moedist build` runs it as one step.
//
// Per node, in this order (a node failing a step is not run through the steps that need it):
//   1. verify       the checks of `moedist verify` (manifest/release_verify.h) over the node's
//                   bundles; a bad file is named. A bad signature or manifest stops everything.
//   2. load         the node in runtime-min (pipeline/node_model.h); a block-quantized node
//                   loads once runtime-min reads quantized weights, and says so until then.
//   3. equivalence  unquantized nodes: logits on every eval prompt equal, bit for bit, the
//                   source checkpoint's logits under the mask group ∪ overlay.
//   4. quality      mean token log-probability on the eval suite vs the full unmasked model and
//                   vs the quantized full model (the checkpoint packed with the release's recipe
//                   as one node holding every expert); the drop vs the full model is limited.
//   5. degeneracy   greedy generations from the eval prompts' first tokens: distinct-2, against
//                   a floor and against the full model's.
// Then, when every node was scored, the sessions (session_quality.h): the worst node, placed
// (each prompt on the node `place` picks) and oracle Δ over the eval suite; placed sessions
// have a limit of their own.
// Then the hotness tiers (validation_tiers.h): the calibration profile's tiers, their coverage
// measured again on a gate profile of the eval suite.
// Then the report goes to `report_dir` (validation.json, validation.html, each atomically) and
// its summary into distribution.json's `validation` object, re-signed with `sign_key` or, without
// one, with the now stale signature removed (the release must be signed again).
// The release directory is locked for the whole run, as `pack` locks it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "manifest/release_signing.h"
#include "pipeline/validation_report.h"

namespace moedist {

struct ValidateOptions {
  std::string dist_dir;
  std::string eval_path;       // calibration-suite JSONL (pipeline/calibration_suite.h)
  std::string checkpoint_dir;  // the source checkpoint; its files must match the manifest's digests
  std::optional<std::string> node;  // only this node (the manifest is then not updated)
  // Verify (as `moedist verify`): trusted keys, or allow_unsigned for a release not signed yet.
  std::vector<PublicKey> trusted_keys;
  bool allow_unsigned = false;
  std::optional<int64_t> now;  // Unix seconds for the expiry check; the clock when unset
  int threads = 0;             // digest threads; <= 0: one per hardware thread
  // Reference for the quantized full model: a one-group release of the same checkpoint packed
  // with the same recipe. Empty: packed into `scratch_dir` when the recipe quantizes anything.
  std::string quantized_full_dir;
  std::string scratch_dir;  // empty: a temporary directory, removed afterwards
  // Eval and generation sizes.
  int max_prompt_tokens = 256;  // eval prompts are cut to this many tokens
  bool add_bos = false;         // prepend config.json's bos_token_id to text prompts
  int generation_prompts = 8;   // greedy samples: the first prompts of each domain in turn
  int generation_prompt_tokens = 16;
  int generation_new_tokens = 48;
  int place_tokens = 64;  // first tokens of each prompt the placer sees, as `place --tokens`
  ValidateThresholds thresholds;
  // Outputs.
  std::string report_dir;    // validation.json + validation.html; empty: none written
  std::string profile_path;  // profile.json for the HTML plots; empty: plots left out
  std::string plan_path;     // plan.json; a budget plan's candidates are plotted; empty: none
  // Hotness tiers (docs/tiers.md), written to distribution.json's `tiers` when a gate profile
  // is found (profile_path or the one the manifest records): the resident set for this many
  // bytes; none: the 50/80/90 % mass tiers only.
  std::optional<uint64_t> tier_bytes;
  bool update_manifest = true;
  const PrivateKey* sign_key = nullptr;  // re-sign distribution.json after updating it
  bool check_source_digests = true;      // re-hash the checkpoint against source.files
};

// Fails (as a Status) only when validation cannot run at all: bad options, an unreadable eval
// file, a checkpoint that is not the release's source, a write error. Nodes that fail their
// checks are reported in the ValidationReport (passed() false), not as an error.
Result<ValidationReport> ValidateRelease(const ValidateOptions& options);

}  // namespace moedist
