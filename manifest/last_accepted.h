// The last accepted release, remembered between runs of `verify --last-accepted FILE` so an
// older signed release (rollback) or a different release under an already accepted version is
// refused (reliability row 18). The file is small JSON:
//   {"accepted_at": "<RFC 3339>", "manifest_sha256": "<hex>", "name": "<release name>",
//    "version": N}
// written atomically (temp -> fsync -> rename -> fsync dir). Recording holds an exclusive
// flock on "<FILE>.lock" and re-reads the file under it, so two verifies racing cannot move
// the recorded version backwards. A missing file means nothing was accepted yet; an unreadable
// or malformed one is an error (fail closed), never "start over".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"

namespace moedist {

inline constexpr uint64_t kMaxLastAcceptedBytes = 64 * 1024;

struct AcceptedRelease {
  std::string name;
  uint64_t version = 0;
  std::string manifest_sha256;
  std::string accepted_at;
};

enum class Freshness {
  kNew,          // nothing accepted yet, or a higher version of the same release
  kSame,         // the accepted version again, byte-identical manifest: nothing new
  kRollback,     // lower version than accepted
  kConflict,     // same version, different manifest bytes
  kOtherStream,  // a different release name than the one accepted
};

Result<std::optional<AcceptedRelease>> ReadLastAccepted(const std::string& path);
Freshness JudgeFreshness(const std::optional<AcceptedRelease>& last,
                         const AcceptedRelease& candidate);
// One sentence for a refusal ("version 3 is older than the accepted version 5").
std::string DescribeFreshness(Freshness f, const std::optional<AcceptedRelease>& last,
                              const AcceptedRelease& candidate);

// Records `accepted` unless, under the lock, the file already holds a newer version or the same
// version with other bytes (FailedPrecondition) or another release name.
Status RecordLastAccepted(const std::string& path, const AcceptedRelease& accepted);

}  // namespace moedist
