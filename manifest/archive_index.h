// ArchiveIndex: moedist-archive.json, the third member of a node archive, after
// distribution.json and its signature (docs/formats/archive.md). It says which node and release
// the archive carries and which byte ranges of which files are stored as byte planes, so unpack
// can restore the exact bytes. It is not signed: unpack trusts nothing in it beyond what it can
// check (the node exists in the signed manifest, manifest_sha256 names the manifest beside it,
// every file is one the manifest lists, ranges fit the listed sizes), and the SHA-256 of every
// restored file against the signed manifest catches any forged range.
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "manifest/byte_planes.h"

namespace moedist {

inline constexpr std::string_view kArchiveIndexName = "moedist-archive.json";
inline constexpr std::string_view kArchiveFormatName = "moedist-node-archive";
inline constexpr int kArchiveFormatVersion = 1;
// A delta archive (package --since): version 2, with "reused" — files the node already has from
// an earlier release, which unpack --reuse takes from there.
inline constexpr int kDeltaArchiveFormatVersion = 2;
inline constexpr uint64_t kMaxArchiveIndexBytes = 16ull << 20;
inline constexpr uint64_t kMaxPlaneRangesPerFile = 1u << 20;

struct ArchiveIndex {
  std::string node;
  std::string release_name;
  uint64_t release_version = 0;
  std::string manifest_sha256;  // of the distribution.json member
  uint64_t plane_chunk_bytes = kPlaneChunkBytes;
  // Archive member path ("<bundle>/<path>") → its byte-plane ranges (files without are absent).
  std::map<std::string, std::vector<PlaneRange>> byte_planes;
  // Delta archives: member paths of the node's files the archive does not carry (their bytes,
  // by SHA-256, are in the node's earlier release), sorted. Empty for a full archive.
  std::vector<std::string> reused;
};

// Sorted keys, two-space indent, trailing newline: the same index always has the same bytes.
std::string SerializeArchiveIndex(const ArchiveIndex& index);

// Strict: duplicate keys, unknown fields, wrong types, another format or version ("reused" only
// and always in version 2, non-empty, sorted, unique), a chunk size
// other than kPlaneChunkBytes, and more than kMaxPlaneRangesPerFile ranges for a file are
// refused. Ranges are checked against file sizes by the caller (CheckPlaneRanges).
Result<ArchiveIndex> ParseArchiveIndex(std::string_view bytes, std::string_view source);

}  // namespace moedist
