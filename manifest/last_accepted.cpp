#include "manifest/last_accepted.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/atomic_file.h"
#include "core/file_lock.h"
#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "manifest/file_digest.h"
#include "manifest/release_path.h"

namespace moedist {

Result<std::optional<AcceptedRelease>> ReadLastAccepted(const std::string& path) {
  auto text = ReadSmallFile(path, kMaxLastAcceptedBytes);
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) {
    return std::optional<AcceptedRelease>();
  }
  if (!text.ok()) return text.status();
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(*text, path));
  auto bad = [&](std::string_view why) {
    return Status::Corruption(
        "{}: not a last-accepted record ({}); refusing to guess the last "
        "accepted version",
        path, why);
  };
  if (!j.is_object()) return bad("not an object");
  for (const char* key : {"name", "manifest_sha256", "accepted_at"}) {
    if (!j.contains(key) || !j[key].is_string()) return bad(fmt::format("\"{}\" missing", key));
  }
  if (!j.contains("version") || !j["version"].is_number_unsigned() ||
      j["version"].get<uint64_t>() == 0) {
    return bad("\"version\" missing or not a positive integer");
  }
  AcceptedRelease r{j["name"].get<std::string>(), j["version"].get<uint64_t>(),
                    j["manifest_sha256"].get<std::string>(), j["accepted_at"].get<std::string>()};
  RETURN_IF_ERROR(CheckReleaseName(r.name, path));
  return std::optional<AcceptedRelease>(std::move(r));
}

Freshness JudgeFreshness(const std::optional<AcceptedRelease>& last,
                         const AcceptedRelease& candidate) {
  if (!last) return Freshness::kNew;
  if (last->name != candidate.name) return Freshness::kOtherStream;
  if (candidate.version > last->version) return Freshness::kNew;
  if (candidate.version < last->version) return Freshness::kRollback;
  return candidate.manifest_sha256 == last->manifest_sha256 ? Freshness::kSame
                                                            : Freshness::kConflict;
}

std::string DescribeFreshness(Freshness f, const std::optional<AcceptedRelease>& last,
                              const AcceptedRelease& c) {
  switch (f) {
    case Freshness::kNew:
      return last ? fmt::format("version {} is newer than the accepted version {}", c.version,
                                last->version)
                  : fmt::format("version {}: no release accepted before", c.version);
    case Freshness::kSame:
      return fmt::format("version {} is the accepted version: nothing new", c.version);
    case Freshness::kRollback:
      return fmt::format(
          "rollback refused: version {} is older than the accepted version {} "
          "(accepted {})",
          c.version, last->version, last->accepted_at);
    case Freshness::kConflict:
      return fmt::format(
          "version {} was already accepted with different manifest bytes "
          "(sha256 {} accepted, {} now): a release must not be rebuilt under "
          "the same version",
          c.version, last->manifest_sha256, c.manifest_sha256);
    case Freshness::kOtherStream:
      return fmt::format("release \"{}\" is not the accepted release \"{}\"", c.name, last->name);
  }
  return "unknown";
}

Status RecordLastAccepted(const std::string& path, const AcceptedRelease& accepted) {
  // Verifiers sharing one record take turns: the read-judge-write below must not interleave.
  ASSIGN_OR_RETURN(FileLock lock,
                   FileLock::Acquire(path + ".lock", FileLock::Wait::kYes, "lock busy"));
  ASSIGN_OR_RETURN(std::optional<AcceptedRelease> last, ReadLastAccepted(path));
  const Freshness f = JudgeFreshness(last, accepted);
  if (f == Freshness::kSame) return Status::Ok();
  if (f != Freshness::kNew) {
    return Status::FailedPrecondition("{}: not recorded: {}", path,
                                      DescribeFreshness(f, last, accepted));
  }
  nlohmann::json j = {{"name", accepted.name},
                      {"version", accepted.version},
                      {"manifest_sha256", accepted.manifest_sha256},
                      {"accepted_at", accepted.accepted_at}};
  return WriteFileAtomically(path, DumpJsonStable(j, 2) + "\n");
}

}  // namespace moedist
