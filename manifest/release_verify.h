// VerifyRelease: checks a release directory against its signed distribution.json and reports
// every problem, each naming the file it concerns (docs/commands/verify.md). Checks run in this
// order; a failure of the first two stops there, because nothing after them can be trusted:
//   1. signature  distribution.json.sig: algorithm ed25519, a trusted key id, a valid Ed25519
//                 signature over the exact bytes of distribution.json (rows 17, 25). The body
//                 is not parsed before this passes.
//   2. schema     strict parse: size cap (row 20), duplicate keys, the schema, path rules
//                 (row 23), created < expires.
//   3. expiry     `expires` must be after now (row 19).
//   4. rollback   with a last-accepted file: a lower version, or the same version with other
//                 bytes, or another release name is refused; the same manifest is "nothing
//                 new" (row 18).
//   5. files      the exact file set of every bundle in scope: each listed file exists, is a
//                 regular file (no symlinks), has its size and SHA-256 (rows 21, 24); anything
//                 else in a bundle directory or at the top level is an extra file (row 22).
//   6. nodes      every bundle a node names exists in the manifest; with `node`, only that
//                 node's bundles are in scope and an unknown node fails; with `bundles`, only
//                 those (an unknown bundle fails).
// On success with a last-accepted file and a newer version, the version is recorded
// atomically under a lock.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "manifest/distribution.h"
#include "manifest/file_digest.h"
#include "manifest/release_signing.h"

namespace moedist {

struct VerifyOptions {
  std::string dist_dir;
  std::vector<PublicKey> trusted_keys;
  bool allow_unsigned = false;      // skip check 1 (a release not signed yet)
  std::optional<std::string> node;  // verify only this node's bundles
  // Verify only these bundles (with `node`: these and the node's). What a reader that uses part
  // of a release checks: `place DIST` reads the trunk alone.
  std::vector<std::string> bundles;
  std::optional<std::string> last_accepted_path;
  std::optional<int64_t> now;  // Unix seconds; the clock when unset
  int threads = 0;             // digest threads; <= 0: one per hardware thread
  DigestOptions digest;
};

// kManifest: distribution.json could not be read at all (missing, over the size cap, not a file).
enum class VerifyCheck { kManifest, kSignature, kSchema, kExpiry, kRollback, kFiles, kNodes };
const char* VerifyCheckName(VerifyCheck c);

struct VerifyProblem {
  enum Severity { kFailed, kMalformed, kIo };  // exit 1, 3, 4
  VerifyCheck check;
  Severity severity = kFailed;
  std::string file;     // relative to the release directory ("" when about no file)
  std::string message;  // complete sentence, names the file
};

struct NodeVerdict {
  std::string id;
  bool ok = true;
  std::vector<std::string> bad_bundles;
};

struct VerifyReport {
  std::string dist_dir;
  std::vector<VerifyProblem> problems;
  bool signature_checked = false;
  std::string key_id;                  // the key that signed, when checked
  std::optional<ReleaseInfo> release;  // once the body parsed
  std::string manifest_sha256;
  std::vector<std::string> bundles_checked;
  std::vector<NodeVerdict> nodes;
  uint64_t files_checked = 0;
  uint64_t bytes_checked = 0;
  bool nothing_new = false;  // the last accepted release again
  bool recorded = false;     // the last-accepted file was updated

  bool ok() const { return problems.empty(); }
  // 0 ok, 3 if the manifest is malformed, else 1 if a check failed, else 4 (I/O only).
  int ExitCode() const;
};

VerifyReport VerifyRelease(const VerifyOptions& options);
nlohmann::json VerifyReportToJson(const VerifyReport& report);

}  // namespace moedist
