#include "core/json_strict.h"

#include <set>
#include <vector>

namespace moedist {
namespace {

struct DuplicateKey {
  std::string key;
};
struct TooDeep {
  int depth;
};

}  // namespace

Result<nlohmann::json> ParseJsonStrict(std::string_view text, std::string_view source,
                                       JsonLimits limits) {
  // nlohmann-json's lexer takes a NUL byte for the end of input and ignores whatever follows it,
  // so "{...}\0<anything>" would parse as "{...}". JSON text never holds a raw NUL (strings
  // must escape it, whitespace excludes it), so any NUL is refused before parsing.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Status::Corruption("{}: invalid JSON at byte {}: NUL byte", source, nul);
  }
  // One key set per open object; the parser callback sees keys before their values.
  std::vector<std::set<std::string>> open_objects;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (depth > limits.max_depth) throw TooDeep{depth};
    switch (event) {
      case E::object_start: open_objects.emplace_back(); break;
      case E::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case E::key:
        if (!open_objects.empty() &&
            !open_objects.back().insert(parsed.get<std::string>()).second) {
          throw DuplicateKey{parsed.get<std::string>()};
        }
        break;
      default: break;
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                                 /*ignore_comments=*/false);
  } catch (const DuplicateKey& d) {
    return Status::Corruption("{}: duplicate JSON key \"{}\"", source, d.key);
  } catch (const TooDeep& d) {
    return Status::Corruption("{}: JSON nested deeper than {} levels", source, limits.max_depth);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::Corruption("{}: invalid JSON at byte {}: {}", source, e.byte, e.what());
  } catch (const std::exception& e) {
    return Status::Corruption("{}: invalid JSON: {}", source, e.what());
  }
}

std::string DumpJsonStable(const nlohmann::json& value, int indent) {
  // error_handler::strict: our own JSON never contains invalid UTF-8; if it did, refuse loudly.
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::strict);
}

}  // namespace moedist
