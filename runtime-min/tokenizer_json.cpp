#include "runtime-min/tokenizer_json.h"

namespace moedist {

std::string_view JsonTypeName(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a number";
    default: return "an unexpected value";
  }
}

const nlohmann::json* FindMember(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<const nlohmann::json*> RequireObject(const nlohmann::json& obj, std::string_view key,
                                            const JsonPath& at) {
  const nlohmann::json* v = FindMember(obj, key);
  if (v == nullptr) return Status::Corruption("{}: missing field", at.Key(key).ToString());
  if (!v->is_object()) {
    return Status::Corruption("{}: expected an object, found {}", at.Key(key).ToString(),
                              JsonTypeName(*v));
  }
  return v;
}

Result<std::string> RequireString(const nlohmann::json& obj, std::string_view key,
                                  const JsonPath& at) {
  const nlohmann::json* v = FindMember(obj, key);
  if (v == nullptr) return Status::Corruption("{}: missing field", at.Key(key).ToString());
  if (!v->is_string()) {
    return Status::Corruption("{}: expected a string, found {}", at.Key(key).ToString(),
                              JsonTypeName(*v));
  }
  return v->get<std::string>();
}

Result<bool> OptionalBool(const nlohmann::json& obj, std::string_view key, bool fallback,
                          const JsonPath& at) {
  const nlohmann::json* v = FindMember(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) {
    return Status::Corruption("{}: expected a boolean, found {}", at.Key(key).ToString(),
                              JsonTypeName(*v));
  }
  return v->get<bool>();
}

Result<std::string> OptionalString(const nlohmann::json& obj, std::string_view key,
                                   std::string fallback, const JsonPath& at) {
  const nlohmann::json* v = FindMember(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) {
    return Status::Corruption("{}: expected a string, found {}", at.Key(key).ToString(),
                              JsonTypeName(*v));
  }
  return v->get<std::string>();
}

Result<int64_t> OptionalInt(const nlohmann::json& obj, std::string_view key, int64_t fallback,
                            const JsonPath& at) {
  const nlohmann::json* v = FindMember(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer()) {
    return Status::Corruption("{}: expected an integer, found {}", at.Key(key).ToString(),
                              JsonTypeName(*v));
  }
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return Status::Corruption("{}: integer out of range", at.Key(key).ToString());
  }
  return v->get<int64_t>();
}

}  // namespace moedist
