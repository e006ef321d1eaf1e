// Names inside a release (reliability row 23). A file path in distribution.json is relative to
// its bundle directory, '/'-separated, and must name a place strictly inside it:
//   - not empty, at most 1024 bytes, each component at most 255 bytes;
//   - no leading '/', no empty component ("a//b", trailing '/'), no "." or ".." component;
//   - no backslash, NUL or other control character (0x00-0x1F, 0x7F);
// and within one bundle no two paths may be equal, or equal after ASCII case folding: on a
// case-insensitive file system (macOS, Windows, some archive extractors) "A.bin" and "a.bin"
// are one file, so one could silently replace the other. Unicode case folding and
// normalisation (NFC vs NFD) are not applied.
// Bundle names and node ids are single components from [A-Za-z0-9._-], starting with a letter
// or digit, at most 64 bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace moedist {

inline constexpr size_t kMaxReleasePathBytes = 1024;
inline constexpr size_t kMaxPathComponentBytes = 255;
inline constexpr size_t kMaxReleaseNameBytes = 64;

// `what` names the field in errors ("bundle \"trunk\" file 3").
Status CheckReleasePath(std::string_view path, std::string_view what);
Status CheckReleaseName(std::string_view name, std::string_view what);

// `s` with control characters, bytes that are not well-formed UTF-8, backslashes and quotes
// escaped as \xNN and cut at 1100 bytes, for printing names found on disk (core/printable.h).
std::string PrintableName(std::string_view s);

// ASCII lower-case copy, the key for case-insensitive duplicate checks.
std::string FoldAsciiCase(std::string_view s);

// Refuses exact and case-insensitive duplicates among `names`, naming both spellings.
Status CheckNoDuplicates(const std::vector<std::string>& names, std::string_view what);

}  // namespace moedist
