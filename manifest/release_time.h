// Release timestamps: RFC 3339 in UTC with whole seconds only ("2025-03-01T12:00:00Z"), the one
// spelling distribution.json allows, so that a timestamp has exactly one byte form and compares
// the same as text and as time. Leap seconds (":60"), offsets and fractions are refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace moedist {

// Seconds since 1970-01-01T00:00:00Z; `what` names the field in errors.
Result<int64_t> ParseRfc3339Utc(std::string_view text, std::string_view what);
std::string FormatRfc3339Utc(int64_t seconds_since_epoch);
int64_t NowUnixSeconds();

}  // namespace moedist
