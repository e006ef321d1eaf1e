// Field access for tokenizer.json: each getter checks presence and type and, on failure, names
// the file and the JSON path ("tokenizer.json: model.merges[12]: expected a string"). The JSON
// path is carried in a JsonPath so nested components can extend it cheaply.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace moedist {

struct JsonPath {
  std::string source;  // the file, e.g. "/models/qwen3/tokenizer.json"
  std::string path;    // e.g. "pre_tokenizer.pretokenizers[1]"

  JsonPath Key(std::string_view key) const {
    return {source, path.empty() ? std::string(key) : path + "." + std::string(key)};
  }
  JsonPath Index(size_t i) const { return {source, path + "[" + std::to_string(i) + "]"}; }
  std::string ToString() const { return path.empty() ? source : source + ": " + path; }
};

// The member `key` of `obj`, or nullptr when absent or null.
const nlohmann::json* FindMember(const nlohmann::json& obj, std::string_view key);

Result<const nlohmann::json*> RequireObject(const nlohmann::json& obj, std::string_view key,
                                            const JsonPath& at);
Result<std::string> RequireString(const nlohmann::json& obj, std::string_view key,
                                  const JsonPath& at);
// Absent or null gives `fallback`.
Result<bool> OptionalBool(const nlohmann::json& obj, std::string_view key, bool fallback,
                          const JsonPath& at);
Result<std::string> OptionalString(const nlohmann::json& obj, std::string_view key,
                                   std::string fallback, const JsonPath& at);
Result<int64_t> OptionalInt(const nlohmann::json& obj, std::string_view key, int64_t fallback,
                            const JsonPath& at);

// "expected an object, found string" style description of a JSON value's type.
std::string_view JsonTypeName(const nlohmann::json& value);

}  // namespace moedist
