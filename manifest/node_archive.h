// Node archives: one node's part of a release as a single .tar.zst (docs/formats/archive.md,
// docs/commands/package.md, docs/commands/unpack.md).
//
//   PackageNode  DIST + node id → archive: distribution.json, distribution.json.sig,
//                moedist-archive.json (archive_index.h), then every file of the node's bundles
//                in manifest order, each hashed while read and refused if it does not match
//                the manifest, BF16/F16 tensor data stored as byte planes where that pays
//                (plane_choice.h). Tar framing by libarchive (pax restricted: plain ustar
//                unless a name or size needs pax), compression by libzstd (zstd_stream.h).
//                The archive is published atomically; its bytes depend only on the release, the
//                node, the level and the plane mode (mtime = release.created, uid/gid 0, 0644).
//                With `since` (an earlier release), a delta archive: files the node already
//                has there, by SHA-256, are left out and listed in the index ("reused").
//   UnpackNode   archive → a release directory holding the node's bundles. The first three
//                members must be distribution.json, its signature and the index, in that
//                order; with trusted keys the signature is checked before the manifest is
//                parsed. Then every member must be a regular file (no links, devices, FIFOs,
//                directories, setuid/setgid/sticky bits, sparse data), named by a valid
//                relative path that the manifest lists for the node, not seen before, with
//                the listed size; reading stops at that size (a decompression bomb ends
//                there), planes are restored and the SHA-256 must match. Everything is written
//                into a fresh temporary directory beside OUT and renamed to OUT only when
//                every listed file arrived intact (reliability rows 26–29); a delta archive's
//                reused files are copied from `reuse_dir` (found by SHA-256 through its
//                distribution.json, opened without following links) and hashed against the
//                new manifest like any member; on any refusal the
//                temporary directory is removed and OUT does not appear.
// Memory: both directions stream; besides the manifest and index they hold one zstd window, a
// 1 MiB plane chunk and a 4 MiB I/O buffer.
// Thread safety: independent calls may run concurrently on different outputs.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "manifest/distribution.h"
#include "manifest/plane_choice.h"
#include "manifest/release_signing.h"

namespace moedist {

inline constexpr std::string_view kArchiveSuffix = ".tar.zst";

struct NodeArchiveFile {
  std::string archive_path;  // "<bundle>/<path>"
  std::string bundle;
  ManifestFile file;
};

// The files of `node`'s bundles in archive order (bundles in the node's order, files in
// manifest order). InvalidArgument for an unknown node, Corruption for a bundle the manifest lacks.
Result<std::vector<NodeArchiveFile>> NodeArchiveFiles(const Distribution& d, std::string_view node);

// Checks `signature_bytes` (distribution.json.sig) against `manifest_bytes` with one of
// `trusted` and returns the signing key id; both sources name the files in errors.
Result<std::string> CheckManifestSignature(std::string_view manifest_bytes,
                                           std::string_view signature_bytes,
                                           const std::vector<PublicKey>& trusted,
                                           std::string_view manifest_source,
                                           std::string_view signature_source);

struct PackageOptions {
  std::string dist_dir;
  std::string node;
  std::string out_path;                 // empty: "<release>-v<version>-<node>.tar.zst"
  std::vector<PublicKey> trusted_keys;  // when given, the signature is checked first
  int level = 3;                        // zstd level
  int threads = 1;                      // zstd worker threads (>= 1)
  PlaneChoiceOptions::Mode planes = PlaneChoiceOptions::kAuto;
  // A delta archive: distribution.json (or its release directory) of the release the node runs
  // now. Files of the node whose SHA-256 that release lists for the same node are left out and
  // named in the index's "reused"; unpack --reuse takes them from the installed release.
  std::string since;
};

struct PackageReport {
  std::string archive_path;
  std::string node;
  std::string release_name;
  uint64_t release_version = 0;
  uint64_t files = 0;
  uint64_t file_bytes = 0;  // bytes of the node's bundle files plus manifest and signature
  uint64_t archive_bytes = 0;
  std::string archive_sha256;
  uint64_t reused_files = 0;  // delta archives: files left for unpack --reuse
  uint64_t reused_bytes = 0;
  uint64_t plane_files = 0;            // files with at least one byte-plane range
  uint64_t plane_ranges = 0;           // tensors stored as planes
  uint64_t plane_bytes = 0;            // bytes stored as planes
  uint64_t plane_candidates = 0;       // BF16/F16 tensors considered
  uint64_t sample_raw_compressed = 0;  // the measurement behind the choice
  uint64_t sample_split_compressed = 0;
  bool signature_checked = false;
  double seconds = 0;
};
nlohmann::json PackageReportToJson(const PackageReport& r);

Result<PackageReport> PackageNode(const PackageOptions& options);

struct UnpackOptions {
  std::string archive_path;
  std::string out_dir;  // must not exist, or be an empty directory
  std::vector<PublicKey> trusted_keys;
  bool allow_unsigned = false;  // skip the signature check; required when no key is given
  // For a delta archive: the node's earlier release directory (an earlier unpack), where the
  // files the archive does not carry are found by SHA-256 and copied, each checked against the
  // new manifest.
  std::string reuse_dir;
};

struct UnpackReport {
  std::string out_dir;
  std::string node;
  std::string release_name;
  uint64_t release_version = 0;
  bool signature_checked = false;
  std::string key_id;
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t plane_bytes = 0;   // bytes restored from planes
  uint64_t reused_files = 0;  // copied from reuse_dir (counted in files and bytes too)
  uint64_t reused_bytes = 0;
  uint64_t archive_bytes = 0;
  double seconds = 0;
};
nlohmann::json UnpackReportToJson(const UnpackReport& r);

Result<UnpackReport> UnpackNode(const UnpackOptions& options);

}  // namespace moedist
