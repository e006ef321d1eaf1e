#include "pipeline/placement_server.h"

#include <chrono>

#include "core/json_strict.h"

namespace moedist {
namespace {

// The error's kind for a program to branch on.
std::string_view CodeKey(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kCorruption: return "corrupt_input";
    case StatusCode::kUnsupported: return "unsupported";
    case StatusCode::kIoError: return "io_error";
    case StatusCode::kFailedPrecondition: return "failed_precondition";
    case StatusCode::kInternal: return "internal";
  }
  return "internal";
}

nlohmann::json ErrorAnswer(const nlohmann::json& id, const Status& s) {
  return {{"id", id}, {"ok", false}, {"error", s.message()}, {"code", CodeKey(s.code())}};
}

// The request's prompt, checked field by field; InvalidArgument names the field.
Result<PlacementResult> Answer(const ReleasePlacer& placer, const nlohmann::json& req,
                               int default_tokens) {
  for (const auto& [key, _] : req.items()) {
    if (key != "id" && key != "prompt" && key != "ids" && key != "tokens") {
      return Status::InvalidArgument("unknown field \"{}\" (expected id, prompt, ids, tokens)",
                                     key);
    }
  }
  int tokens = default_tokens;
  if (req.contains("tokens")) {
    const nlohmann::json& t = req["tokens"];
    if (!t.is_number_integer() || t.get<int64_t>() < 1 || t.get<int64_t>() > (1 << 20)) {
      return Status::InvalidArgument("\"tokens\" must be an integer in [1, 1048576], not {}",
                                     t.dump());
    }
    tokens = t.get<int>();
  }
  if (req.contains("prompt") == req.contains("ids")) {
    return Status::InvalidArgument("give exactly one of \"prompt\" (text) and \"ids\" (token ids)");
  }
  if (req.contains("prompt")) {
    if (!req["prompt"].is_string()) {
      return Status::InvalidArgument("\"prompt\" must be a string");
    }
    return placer.PlaceText(req["prompt"].get<std::string>(), tokens);
  }
  const nlohmann::json& ids = req["ids"];
  if (!ids.is_array()) return Status::InvalidArgument("\"ids\" must be an array of token ids");
  std::vector<int32_t> v;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!ids[i].is_number_integer() || ids[i].get<int64_t>() < 0 ||
        ids[i].get<int64_t>() > INT32_MAX) {
      return Status::InvalidArgument("\"ids\"[{}] is {}, not a token id", i, ids[i].dump());
    }
    v.push_back(ids[i].get<int32_t>());
  }
  return placer.Place(std::move(v), tokens);
}

}  // namespace

nlohmann::json AnswerPlacementRequest(const ReleasePlacer& placer, const std::string& line,
                                      int default_tokens) {
  auto parsed = ParseJsonStrict(line, "request");
  if (!parsed.ok()) return ErrorAnswer(nullptr, parsed.status());
  if (!parsed->is_object()) {
    return ErrorAnswer(nullptr, Status::InvalidArgument("a request is a JSON object, not {}",
                                                        parsed->type_name()));
  }
  const nlohmann::json id = parsed->contains("id") ? (*parsed)["id"] : nlohmann::json();
  const auto start = std::chrono::steady_clock::now();
  auto r = Answer(placer, *parsed, default_tokens);
  if (!r.ok()) return ErrorAnswer(id, r.status());
  nlohmann::json out = PlacementToJson(*r);
  out["id"] = id;
  out["ok"] = true;
  out["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

Result<PlacementServeStats> ServePlacementRequests(const ReleasePlacer& placer, std::istream& in,
                                                   std::ostream& out, int default_tokens) {
  PlacementServeStats stats;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json answer =
        line.size() > kMaxPlacementLine
            ? ErrorAnswer(nullptr, Status::InvalidArgument("request line of {} bytes is over the "
                                                           "limit of {}",
                                                           line.size(), kMaxPlacementLine))
            : AnswerPlacementRequest(placer, line, default_tokens);
    ++stats.requests;
    if (!answer["ok"].get<bool>()) ++stats.errors;
    // One line; a message quoting bytes of a bad request may not be UTF-8: never fail on it.
    out << answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    out.flush();
    if (!out) return Status::IoError("cannot write the answer to request {}", stats.requests);
  }
  return stats;
}

}  // namespace moedist
