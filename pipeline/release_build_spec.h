// ReleaseSpec: what `moedist build` reads from release.json (docs/formats/release.md, schema
// schemas/release.schema.json) — the inputs (checkpoint, calibration and eval suites, recipe,
// signing key), the options of every stage and the output directory. Relative paths are
// resolved against the directory holding release.json, so a release file travels with its
// inputs. Parsing is strict: unknown fields, wrong types and out-of-range values are refused,
// naming the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace moedist {

struct ReleaseSpecProfile {
  std::string layers;  // "" = the first 4 MoE layers; "all"; "0-3"; "1,2,7"
  int max_tokens_per_prompt = 256;
  int topm = 0;
};

struct ReleaseSpecPlan {
  // Budget mode (plan --nodes --node-bytes) when nodes > 0: the fields below it are not used.
  int nodes = 0;
  uint64_t node_bytes = 0;
  int measure = 4;
  int measure_prompts = 0;
  int measure_tokens = 128;
  // Fixed split.
  int groups = 2;
  int overlay = -1;
  uint64_t overlay_bytes = 0;
  std::string strategy = "placement";
  std::string assign;  // custom strategy: assignment file (resolved path)
  int min_experts = -1;
  bool force = false;
  bool split_router_groups = false;  // plan --split-router-groups
  std::string standins;              // plan --standins: "proxy-fit", "proxy-average" or ""
  int proxies_per_group = 1;         // plan --proxies-per-group (with standins)
};

struct ReleaseSpecPack {
  std::string recipe;   // resolved path; "" = keep every tensor as it is
  std::string imatrix;  // resolved path of an imatrix GGUF (pack --imatrix); "" = none
  uint64_t shard_bytes = uint64_t{4} << 30;
  std::string layout = "groups";  // pack --layout: groups | experts
};

struct ReleaseSpecRelease {
  std::string name;  // "" = <model_type>-<G>x
  uint64_t version = 1;
  std::string created;  // RFC 3339 UTC; required, so that rebuilds are reproducible
  std::string expires;  // "" = created + valid_days
  int valid_days = 365;
};

struct ReleaseSpec {
  std::string source;      // release.json path, for messages
  std::string checkpoint;  // resolved paths
  std::string calibration;
  std::string eval;
  ReleaseSpecProfile profile;
  ReleaseSpecPlan plan;
  ReleaseSpecPack pack;
  ReleaseSpecRelease release;
  std::string signing_key;  // "" = unsigned release
  // Peak resident memory allowed to the build (bytes; 0 = no limit): profile plans its run under
  // it (layer streaming) and every step is checked against it when it ends.
  uint64_t max_rss = 0;
  nlohmann::json validate = nlohmann::json::object();  // thresholds, passed to the validator
  std::string output;
};

// `base_dir` resolves relative paths ("" = the current directory).
Result<ReleaseSpec> ParseReleaseSpec(std::string_view text, const std::string& source,
                                     const std::string& base_dir);
Result<ReleaseSpec> ReadReleaseSpec(const std::string& path);

}  // namespace moedist
