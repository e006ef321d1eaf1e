// Byte sizes as people type and read them: "512M", "2G", "1.5GiB" in flags (--max-rss), and
// "1.50 GiB" in messages. Suffixes are binary (K = 1024), as for memory limits in systemd,
// cgroups and GNU coreutils' "K, M, G" forms.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace moedist {

// Parses a non-negative integer or decimal number of bytes with an optional suffix K, M, G or T
// (case-insensitive, optionally followed by "iB" or "B"): "1073741824", "512M", "2G", "1.5GiB".
// A plain "B" suffix means bytes. Refuses empty text, signs, unknown suffixes, and values that
// do not fit in 64 bits; `what` names the flag in the error.
Result<uint64_t> ParseByteSize(std::string_view text, std::string_view what);

// "123 B", "1.50 KiB", "2.00 GiB".
std::string FormatByteSize(uint64_t bytes);

}  // namespace moedist
