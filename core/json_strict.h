// Strict JSON parsing for files from strangers (headers, configs, indexes, manifests):
// duplicate keys are refused (never "last one wins", reliability row 3), nesting depth is
// capped, and every error names the source and the byte offset. nlohmann-json throws; this is
// where its exceptions stop.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace moedist {

struct JsonLimits {
  int max_depth = 64;
};

// `source` names the input in errors ("model.safetensors header", "config.json").
Result<nlohmann::json> ParseJsonStrict(std::string_view text, std::string_view source,
                                       JsonLimits limits = {});

// Serialises with sorted keys (nlohmann's default map) and a fixed indent so outputs are
// deterministic and diffable.
std::string DumpJsonStable(const nlohmann::json& value, int indent = 2);

}  // namespace moedist
