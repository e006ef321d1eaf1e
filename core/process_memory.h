// The resident memory of this process as the kernel counts it (/proc/self/status): VmRSS now
// and VmHWM, the high-water mark since the process started. Used to enforce and report memory
// limits (profile --max-rss); mapped file pages count once they are faulted in.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace moedist {

struct ProcessMemory {
  uint64_t rss_bytes = 0;   // VmRSS
  uint64_t peak_bytes = 0;  // VmHWM
};

// Reads /proc/self/status. IoError where it is missing (not Linux) or lacks the fields.
Result<ProcessMemory> ReadProcessMemory();

// Parses the text of a /proc/<pid>/status file ("VmRSS:\t  1234 kB" lines); `source` names it
// in errors. Exposed for tests.
Result<ProcessMemory> ParseProcessStatus(std::string_view text, std::string_view source);

}  // namespace moedist
