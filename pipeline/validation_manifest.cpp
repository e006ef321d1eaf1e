#include "pipeline/validation_manifest.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/atomic_file.h"
#include "manifest/distribution.h"
#include "manifest/file_digest.h"

namespace moedist {

Result<ManifestUpdate> RecordValidationInManifest(const std::string& dist_dir,
                                                  const std::string& verified_sha256,
                                                  const nlohmann::json& section,
                                                  const PrivateKey* key,
                                                  const std::optional<nlohmann::json>& tiers) {
  namespace fs = std::filesystem;
  const std::string manifest_path = (fs::path(dist_dir) / kManifestFileName).string();
  const std::string sig_path = (fs::path(dist_dir) / kSignatureFileName).string();
  ASSIGN_OR_RETURN(std::string bytes, ReadManifestFile(manifest_path));
  ASSIGN_OR_RETURN(std::string digest, Sha256Hex(bytes));
  if (digest != verified_sha256) {
    return Status::FailedPrecondition(
        "{}: changed after it was verified (SHA-256 {} then {}); is something else writing the "
        "release?",
        manifest_path, verified_sha256, digest);
  }
  ASSIGN_OR_RETURN(Distribution d, ParseDistribution(bytes, manifest_path));
  ManifestUpdate out;
  d.validation = section;
  d.tiers = tiers;
  const std::string updated = SerializeDistribution(d);
  RETURN_IF_ERROR(ParseDistribution(updated, manifest_path + " (about to be written)").status());
  if (updated != bytes) {
    RETURN_IF_ERROR(WriteFileAtomically(manifest_path, updated));
    out.written = true;
    if (key == nullptr) {
      if (::unlink(sig_path.c_str()) == 0) {
        out.signature_removed = true;
      } else if (errno != ENOENT) {
        return Status::IoError("{}: cannot remove the stale signature: {}", sig_path,
                               std::strerror(errno));
      }
    }
  }
  if (key != nullptr && (out.written || !fs::exists(sig_path))) {
    RETURN_IF_ERROR(SignRelease(dist_dir, *key).status());
    out.signed_again = true;
  }
  return out;
}

}  // namespace moedist
