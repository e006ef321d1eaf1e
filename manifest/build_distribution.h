// BuildDistribution: describes a release directory whose bundle directories are complete and
// publishes its distribution.json. pack calls it last, after every bundle file is written and
// synced (and while it holds its own lock on the directory, reliability row 34).
//
// What it does, in order:
//   1. checks the sections (release fields, node ids, bundle references) before touching disk;
//   2. lists the release directory: every subdirectory is a bundle, named by a valid bundle
//      name; a symlink, special file, empty directory, unexpected top-level file or path that
//      breaks release_path.h is refused, naming it;
//   3. hashes every bundle file with SHA-256 on `threads` threads, except files whose digest the
//      caller took while writing them (`known`) and whose stamp still matches;
//   4. serialises deterministically and parses the result back with the strict reader (schema
//      included) so only a readable manifest is published; if distribution.json already holds
//      exactly these bytes nothing is written and its signature stays valid; otherwise writes
//      distribution.json atomically, then removes the stale distribution.json.sig (it signs
//      other bytes);
//   5. re-reads the published file and compares it byte for byte (reliability row 16).
// A crash before step 4 completes leaves no new distribution.json (row 31): the release is not
// visible (or the previous one still is) and verify fails cleanly. A write error (disk full,
// row 32) leaves the previous manifest and signature untouched. An AtomicFile temporary found
// inside a bundle is refused; RemoveStaleTemporaries cleans them.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "manifest/distribution.h"
#include "manifest/file_digest.h"

namespace moedist {

// Everything in distribution.json except what is read from disk (the bundles' files).
struct DistributionSections {
  ReleaseInfo release;
  SourceInfo source;
  nlohmann::json routing = nlohmann::json::object();
  nlohmann::json calibration = nlohmann::json::object();
  nlohmann::json partition = {{"layers", nlohmann::json::object()}};
  nlohmann::json overlay = nlohmann::json::object();
  nlohmann::json recipe = nlohmann::json::object();
  nlohmann::json validation = nlohmann::json::object();
  std::map<std::string, nlohmann::json> bundle_facts;  // optional, by bundle name
  std::vector<NodeEntry> nodes;
};

struct BuildOptions {
  int threads = 0;  // <= 0: one per hardware thread
  DigestOptions digest;
  // "bundle/path" -> the digest its writer took in this run, with the file's stamp after
  // publication (pipeline/bundle_writer.h). Reused while the stamp matches; hashed otherwise.
  std::map<std::string, FileDigest> known;
};

Result<Distribution> BuildDistribution(const std::string& dist_dir,
                                       const DistributionSections& sections,
                                       const BuildOptions& options = {});

// Size and SHA-256 of each of `paths` (relative to `root`, opened beneath it): the source
// checkpoint's entry in the manifest. Sorted by path. `stamps`, when given, receives each
// file's stamp as it was hashed, in the same order.
Result<std::vector<ManifestFile>> DescribeFiles(const std::string& root,
                                                const std::vector<std::string>& paths,
                                                const BuildOptions& options = {},
                                                std::vector<FileStamp>* stamps = nullptr);

// Re-hashes `files` under `root` and fails naming every file whose bytes changed (reliability
// row 35: a checkpoint edited between runs is detected by digest; size and mtime are never
// trusted).
Status CheckFilesUnchanged(const std::string& root, const std::vector<ManifestFile>& files,
                           const BuildOptions& options = {});

// Within one run: fails naming every file of `files` whose stamp differs from `stamps` (as
// DescribeFiles returned them). pack uses it to check that the checkpoint it hashed before
// reading was not changed while it read, without reading a 1 TB checkpoint twice; any write
// changes ctime, which cannot be set back (core/file_stamp.h).
Status CheckFilesUnchangedSince(const std::string& root, const std::vector<ManifestFile>& files,
                                const std::vector<FileStamp>& stamps);

// True for names AtomicFile gives its temporaries: ".<name>.tmp.<pid>.<n>".
bool IsAtomicTemporaryName(std::string_view file_name);

// Removes every AtomicFile temporary below `dist_dir` (left by a writer killed mid-write,
// reliability rows 30-31) and returns how many. Call only while holding the release lock:
// a live writer's temporaries look the same.
Result<size_t> RemoveStaleTemporaries(const std::string& dist_dir);

}  // namespace moedist
