// `moedist place DIST --stdin`: a placer kept running behind a front door written in any
// language. One JSON object per line in, one JSON object per line out, in order, flushed after
// each; the release is opened (verified, mapped) once. docs/commands/place.md has the schema:
//
//   request   {"id": <any JSON, echoed>, "prompt": "text"}  or  {"id": ..., "ids": [1, 2, ...]}
//             optional "tokens": N (>= 1; default: the --tokens of the command)
//   answer    {"id": ..., "ok": true, "node": 1, "node_id": "node-1", "nodes": [...],
//              "scores": [...], "margin": m, "tokens": n, "layers": [l], "seconds": s}
//   error     {"id": ... (null when the line was not a JSON object), "ok": false,
//              "error": "message", "code": "invalid_argument" | "not_found" | ...}
//
// A malformed or unanswerable line gets an error line and the loop goes on; blank lines are
// skipped; end of input ends the loop. Lines longer than kMaxPlacementLine are refused.
// Thread safety: one loop per placer at a time.
#pragma once

#include <cstdint>
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "core/status.h"
#include "pipeline/release_placement.h"

namespace moedist {

inline constexpr uint64_t kMaxPlacementLine = 16ull << 20;

// The answer to one request line.
nlohmann::json AnswerPlacementRequest(const ReleasePlacer& placer, const std::string& line,
                                      int default_tokens);

struct PlacementServeStats {
  uint64_t requests = 0;
  uint64_t errors = 0;
};

// Answers every line of `in` on `out` until end of input. Fails only when `out` cannot be
// written (IoError).
Result<PlacementServeStats> ServePlacementRequests(const ReleasePlacer& placer, std::istream& in,
                                                   std::ostream& out, int default_tokens);

}  // namespace moedist
