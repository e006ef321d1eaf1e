// Records validate's verdict in distribution.json's `validation` object and its hotness tiers in
// `tiers` (docs/formats/distribution.md). The manifest is rewritten atomically from the verified
// bytes (refused if it changed since it was verified); a signature over the old bytes is then
// stale: with a key the manifest is signed again, without one the stale distribution.json.sig is
// removed so nobody mistakes it for a valid one, and the release must be signed (`moedist sign`)
// before it ships. When the sections already hold exactly these values nothing is written and a
// signature stays valid, so validating the same release twice is idempotent.
// Thread safety: the caller holds the release directory lock (pack_output_dir.h).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/status.h"
#include "manifest/release_signing.h"

namespace moedist {

struct ManifestUpdate {
  bool written = false;            // distribution.json changed
  bool signed_again = false;       // a new signature was written with the given key
  bool signature_removed = false;  // a stale signature was deleted
};

// `verified_sha256`: the SHA-256 of distribution.json as verify checked it. `tiers` replaces the
// manifest's `tiers` section (validate owns it; none removes one left by an earlier run, so
// the figures in a manifest are always those of its latest validation).
Result<ManifestUpdate> RecordValidationInManifest(const std::string& dist_dir,
                                                  const std::string& verified_sha256,
                                                  const nlohmann::json& section,
                                                  const PrivateKey* key,
                                                  const std::optional<nlohmann::json>& tiers = {});

}  // namespace moedist
