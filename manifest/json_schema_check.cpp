#include "manifest/json_schema_check.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <set>

namespace moedist {

using nlohmann::json;

namespace {

enum TypeBit : unsigned {
  kNull = 1,
  kBoolean = 2,
  kObject = 4,
  kArray = 8,
  kNumber = 16,
  kInteger = 32,
  kString = 64,
};

std::optional<unsigned> TypeBitFromName(const std::string& name) {
  static const std::map<std::string, unsigned> kTypes = {
      {"null", kNull},     {"boolean", kBoolean}, {"object", kObject}, {"array", kArray},
      {"number", kNumber}, {"integer", kInteger}, {"string", kString}};
  auto it = kTypes.find(name);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

bool IsInteger(const json& v) {
  if (v.is_number_integer()) return true;  // signed and unsigned
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::trunc(d) == d;
}

bool HasType(const json& v, unsigned mask) {
  switch (v.type()) {
    case json::value_t::null: return mask & kNull;
    case json::value_t::boolean: return mask & kBoolean;
    case json::value_t::object: return mask & kObject;
    case json::value_t::array: return mask & kArray;
    case json::value_t::string: return mask & kString;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return (mask & kNumber) || ((mask & kInteger) && IsInteger(v));
    default: return false;
  }
}

std::string TypeName(const json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "number";
  return v.type_name();
}

// Exact for every int64 and uint64 (x86 long double has a 64-bit mantissa) and every double.
long double AsLongDouble(const json& v) {
  if (v.is_number_unsigned()) return static_cast<long double>(v.get<uint64_t>());
  if (v.is_number_integer()) return static_cast<long double>(v.get<int64_t>());
  return static_cast<long double>(v.get<double>());
}

uint64_t CodePoints(const std::string& s) {
  uint64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string EscapePointerToken(const std::string& token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Short(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

}  // namespace

struct JsonSchema::Node {
  std::optional<bool> constant;  // boolean schema: true accepts all, false refuses all
  unsigned types = 0;            // 0: any
  std::vector<std::string> required;
  std::map<std::string, int> properties;
  std::vector<std::pair<std::string, std::regex>> pattern_property_regex;
  std::vector<int> pattern_property_nodes;
  int additional_properties = -1;
  int property_names = -1;
  std::optional<uint64_t> min_properties, max_properties;
  int items = -1;
  std::optional<uint64_t> min_items, max_items;
  bool unique_items = false;
  std::optional<json> const_value;
  std::optional<std::vector<json>> enum_values;
  std::optional<json> minimum, maximum, exclusive_minimum, exclusive_maximum;
  std::optional<uint64_t> min_length, max_length;
  std::optional<std::pair<std::string, std::regex>> pattern;
  std::string ref_name;  // "$defs" entry, resolved to `ref` after compiling
  int ref = -1;
};

namespace {

class Compiler {
 public:
  explicit Compiler(std::string_view source) : source_(source) {}

  Result<std::vector<JsonSchema::Node>> Run(const json& root) {
    nodes_.emplace_back();  // the root is node 0
    if (root.is_object() && root.contains("$defs")) {
      const json& defs = root["$defs"];
      if (!defs.is_object()) return Error("/$defs", "must be an object");
      for (const auto& [name, sub] : defs.items()) {
        ASSIGN_OR_RETURN(int idx, CompileNode(sub, "/$defs/" + EscapePointerToken(name)));
        defs_[name] = idx;
      }
    }
    ASSIGN_OR_RETURN(int root_idx, CompileNode(root, "", /*is_root=*/true));
    nodes_[0] = nodes_[root_idx];
    for (size_t i = 0; i < nodes_.size(); ++i) {
      JsonSchema::Node& n = nodes_[i];
      if (n.ref_name.empty()) continue;
      auto it = defs_.find(n.ref_name);
      if (it == defs_.end()) return Error("", "$ref to undefined \"#/$defs/" + n.ref_name + "\"");
      n.ref = it->second;
    }
    return std::move(nodes_);
  }

 private:
  Status Error(const std::string& where, const std::string& what) const {
    return Status::Corruption("{}: schema at \"{}\": {}", source_, where, what);
  }

  Result<uint64_t> Count(const json& v, const std::string& where) const {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
      return Error(where, "must be a non-negative integer");
    }
    return v.get<uint64_t>();
  }

  Result<std::regex> Regex(const json& v, const std::string& where) const {
    if (!v.is_string()) return Error(where, "pattern must be a string");
    try {
      return std::regex(v.get<std::string>(), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Error(where, std::string("invalid regular expression: ") + e.what());
    }
  }

  Result<int> CompileNode(const json& s, const std::string& where, bool is_root = false) {
    const int idx = static_cast<int>(nodes_.size());
    nodes_.emplace_back();
    if (s.is_boolean()) {
      nodes_[idx].constant = s.get<bool>();
      return idx;
    }
    if (!s.is_object()) return Error(where, "a schema must be an object or a boolean");
    JsonSchema::Node n;
    for (const auto& [key, v] : s.items()) {
      const std::string at = where + "/" + EscapePointerToken(key);
      if (key == "$schema") {
        if (v != "https://json-schema.org/draft/2020-12/schema") {
          return Error(at, "only draft 2020-12 is supported");
        }
      } else if (key == "$id" || key == "$comment" || key == "title" || key == "description" ||
                 key == "examples" || key == "default" || key == "deprecated" || key == "format") {
        // annotations
      } else if (key == "$defs") {
        if (!is_root) return Error(at, "$defs is supported only at the root");
      } else if (key == "type") {
        std::vector<json> names = v.is_array() ? v.get<std::vector<json>>() : std::vector{v};
        for (const json& name : names) {
          auto bit = name.is_string() ? TypeBitFromName(name.get<std::string>()) : std::nullopt;
          if (!bit) return Error(at, "unknown type " + Short(name));
          n.types |= *bit;
        }
      } else if (key == "required") {
        if (!v.is_array()) return Error(at, "must be an array of strings");
        for (const json& r : v) {
          if (!r.is_string()) return Error(at, "must be an array of strings");
          n.required.push_back(r.get<std::string>());
        }
      } else if (key == "properties") {
        if (!v.is_object()) return Error(at, "must be an object");
        for (const auto& [name, sub] : v.items()) {
          ASSIGN_OR_RETURN(int c, CompileNode(sub, at + "/" + EscapePointerToken(name)));
          n.properties[name] = c;
        }
      } else if (key == "patternProperties") {
        if (!v.is_object()) return Error(at, "must be an object");
        for (const auto& [pat, sub] : v.items()) {
          ASSIGN_OR_RETURN(std::regex re, Regex(json(pat), at));
          ASSIGN_OR_RETURN(int c, CompileNode(sub, at + "/" + EscapePointerToken(pat)));
          n.pattern_property_regex.emplace_back(pat, std::move(re));
          n.pattern_property_nodes.push_back(c);
        }
      } else if (key == "additionalProperties") {
        ASSIGN_OR_RETURN(n.additional_properties, CompileNode(v, at));
      } else if (key == "propertyNames") {
        ASSIGN_OR_RETURN(n.property_names, CompileNode(v, at));
      } else if (key == "items") {
        ASSIGN_OR_RETURN(n.items, CompileNode(v, at));
      } else if (key == "minProperties") {
        ASSIGN_OR_RETURN(n.min_properties, Count(v, at));
      } else if (key == "maxProperties") {
        ASSIGN_OR_RETURN(n.max_properties, Count(v, at));
      } else if (key == "minItems") {
        ASSIGN_OR_RETURN(n.min_items, Count(v, at));
      } else if (key == "maxItems") {
        ASSIGN_OR_RETURN(n.max_items, Count(v, at));
      } else if (key == "minLength") {
        ASSIGN_OR_RETURN(n.min_length, Count(v, at));
      } else if (key == "maxLength") {
        ASSIGN_OR_RETURN(n.max_length, Count(v, at));
      } else if (key == "uniqueItems") {
        if (!v.is_boolean()) return Error(at, "must be a boolean");
        n.unique_items = v.get<bool>();
      } else if (key == "const") {
        n.const_value = v;
      } else if (key == "enum") {
        if (!v.is_array()) return Error(at, "must be an array");
        n.enum_values = v.get<std::vector<json>>();
      } else if (key == "minimum" || key == "maximum" || key == "exclusiveMinimum" ||
                 key == "exclusiveMaximum") {
        if (!v.is_number()) return Error(at, "must be a number");
        (key == "minimum"            ? n.minimum
         : key == "maximum"          ? n.maximum
         : key == "exclusiveMinimum" ? n.exclusive_minimum
                                     : n.exclusive_maximum) = v;
      } else if (key == "pattern") {
        ASSIGN_OR_RETURN(std::regex re, Regex(v, at));
        n.pattern.emplace(v.get<std::string>(), std::move(re));
      } else if (key == "$ref") {
        static const std::string kPrefix = "#/$defs/";
        if (!v.is_string() || v.get<std::string>().rfind(kPrefix, 0) != 0 ||
            v.get<std::string>().find('/', kPrefix.size()) != std::string::npos) {
          return Error(at, "only \"#/$defs/<name>\" references are supported, found " + Short(v));
        }
        n.ref_name = v.get<std::string>().substr(kPrefix.size());
      } else {
        // Fail closed: an unimplemented keyword would otherwise be silently ignored.
        return Error(at, "keyword \"" + key + "\" is not supported by moedist's validator");
      }
    }
    nodes_[idx] = std::move(n);
    return idx;
  }

  std::string_view source_;
  std::vector<JsonSchema::Node> nodes_;
  std::map<std::string, int> defs_;
};

class Validator {
 public:
  Validator(const std::vector<JsonSchema::Node>& nodes, size_t max) : nodes_(nodes), max_(max) {}

  void Run(int node, const json& v, const std::string& path, int depth) {
    if (out_.size() >= max_) {
      ++dropped_;
      return;
    }
    if (depth > 128) {
      Add(path, "$ref", "schema recursion deeper than 128 levels");
      return;
    }
    const JsonSchema::Node& n = nodes_[node];
    if (n.constant) {
      if (!*n.constant) Add(path, "false", "no value is allowed here");
      return;
    }
    if (n.ref >= 0) Run(n.ref, v, path, depth + 1);
    if (n.types && !HasType(v, n.types)) {
      Add(path, "type",
          fmt::format("found {} {}, expected {}", TypeName(v), Short(v), ExpectedTypes(n.types)));
      return;  // the remaining keywords would only repeat the type error
    }
    if (n.const_value && !(v == *n.const_value)) {
      Add(path, "const", fmt::format("found {}, expected {}", Short(v), Short(*n.const_value)));
    }
    if (n.enum_values &&
        std::find(n.enum_values->begin(), n.enum_values->end(), v) == n.enum_values->end()) {
      Add(path, "enum",
          fmt::format("found {}, expected one of {}", Short(v), Short(json(*n.enum_values))));
    }
    if (v.is_number()) CheckNumber(n, v, path);
    if (v.is_string()) CheckString(n, v.get_ref<const std::string&>(), path);
    if (v.is_array()) CheckArray(n, v, path, depth);
    if (v.is_object()) CheckObject(n, v, path, depth);
  }

  std::vector<SchemaViolation> Take() {
    if (dropped_ > 0 && !out_.empty()) {
      out_.back().message += fmt::format(" (and {} more violations not listed)", dropped_);
    }
    return std::move(out_);
  }

 private:
  void Add(const std::string& path, const std::string& keyword, std::string message) {
    if (out_.size() >= max_) {
      ++dropped_;
      return;
    }
    out_.push_back({path, keyword, std::move(message)});
  }

  static std::string ExpectedTypes(unsigned mask) {
    std::vector<std::string> names;
    for (const char* t : {"null", "boolean", "object", "array", "number", "integer", "string"}) {
      if (mask & *TypeBitFromName(t)) names.emplace_back(t);
    }
    return fmt::format("{}", fmt::join(names, " or "));
  }

  void CheckNumber(const JsonSchema::Node& n, const json& v, const std::string& path) {
    const long double x = AsLongDouble(v);
    if (n.minimum && x < AsLongDouble(*n.minimum)) {
      Add(path, "minimum",
          fmt::format("{} is less than the minimum {}", Short(v), Short(*n.minimum)));
    }
    if (n.maximum && x > AsLongDouble(*n.maximum)) {
      Add(path, "maximum",
          fmt::format("{} is more than the maximum {}", Short(v), Short(*n.maximum)));
    }
    if (n.exclusive_minimum && x <= AsLongDouble(*n.exclusive_minimum)) {
      Add(path, "exclusiveMinimum",
          fmt::format("{} must be more than {}", Short(v), Short(*n.exclusive_minimum)));
    }
    if (n.exclusive_maximum && x >= AsLongDouble(*n.exclusive_maximum)) {
      Add(path, "exclusiveMaximum",
          fmt::format("{} must be less than {}", Short(v), Short(*n.exclusive_maximum)));
    }
  }

  void CheckString(const JsonSchema::Node& n, const std::string& s, const std::string& path) {
    const uint64_t len = CodePoints(s);
    bool length_ok = true;
    if (n.min_length && len < *n.min_length) {
      Add(path, "minLength",
          fmt::format("{} is {} characters, expected at least {}", Short(json(s)), len,
                      *n.min_length));
      length_ok = false;
    }
    if (n.max_length && len > *n.max_length) {
      Add(path, "maxLength",
          fmt::format("string of {} characters, expected at most {}", len, *n.max_length));
      length_ok = false;
    }
    // A pattern is searched only on strings within their length bounds: std::regex recurses
    // per character, so unbounded input must never reach it.
    if (n.pattern && length_ok && !std::regex_search(s, n.pattern->second)) {
      Add(path, "pattern",
          fmt::format("{} does not match the pattern {}", Short(json(s)), n.pattern->first));
    }
  }

  void CheckArray(const JsonSchema::Node& n, const json& v, const std::string& path, int depth) {
    if (n.min_items && v.size() < *n.min_items) {
      Add(path, "minItems", fmt::format("{} items, expected at least {}", v.size(), *n.min_items));
    }
    if (n.max_items && v.size() > *n.max_items) {
      Add(path, "maxItems", fmt::format("{} items, expected at most {}", v.size(), *n.max_items));
    }
    if (n.unique_items && v.size() > 1) {
      std::vector<const json*> sorted;
      for (const json& e : v) sorted.push_back(&e);
      std::sort(sorted.begin(), sorted.end(), [](const json* a, const json* b) { return *a < *b; });
      for (size_t i = 1; i < sorted.size(); ++i) {
        if (*sorted[i - 1] == *sorted[i]) {
          Add(path, "uniqueItems", fmt::format("{} appears more than once", Short(*sorted[i])));
          break;
        }
      }
    }
    if (n.items >= 0) {
      for (size_t i = 0; i < v.size(); ++i) {
        Run(n.items, v[i], fmt::format("{}/{}", path, i), depth + 1);
      }
    }
  }

  void CheckObject(const JsonSchema::Node& n, const json& v, const std::string& path, int depth) {
    for (const std::string& r : n.required) {
      if (!v.contains(r))
        Add(path, "required", fmt::format("required property \"{}\" is missing", r));
    }
    if (n.min_properties && v.size() < *n.min_properties) {
      Add(path, "minProperties",
          fmt::format("{} properties, expected at least {}", v.size(), *n.min_properties));
    }
    if (n.max_properties && v.size() > *n.max_properties) {
      Add(path, "maxProperties",
          fmt::format("{} properties, expected at most {}", v.size(), *n.max_properties));
    }
    for (const auto& [key, value] : v.items()) {
      const std::string at = path + "/" + EscapePointerToken(key);
      if (n.property_names >= 0) Run(n.property_names, json(key), at, depth + 1);
      bool matched = false;
      if (auto it = n.properties.find(key); it != n.properties.end()) {
        matched = true;
        Run(it->second, value, at, depth + 1);
      }
      for (size_t i = 0; i < n.pattern_property_regex.size(); ++i) {
        if (std::regex_search(key, n.pattern_property_regex[i].second)) {
          matched = true;
          Run(n.pattern_property_nodes[i], value, at, depth + 1);
        }
      }
      if (!matched && n.additional_properties >= 0) {
        const JsonSchema::Node& ap = nodes_[n.additional_properties];
        if (ap.constant && !*ap.constant) {
          Add(at, "additionalProperties", fmt::format("property \"{}\" is not allowed here", key));
        } else {
          Run(n.additional_properties, value, at, depth + 1);
        }
      }
    }
  }

  const std::vector<JsonSchema::Node>& nodes_;
  size_t max_;
  size_t dropped_ = 0;
  std::vector<SchemaViolation> out_;
};

}  // namespace

std::string SchemaViolation::ToString() const {
  return fmt::format("{}: {}", instance_path.empty() ? "(root)" : instance_path, message);
}

Result<JsonSchema> JsonSchema::Compile(const json& schema, std::string_view source) {
  Compiler compiler(source);
  ASSIGN_OR_RETURN(std::vector<Node> nodes, compiler.Run(schema));
  return JsonSchema(std::make_shared<const std::vector<Node>>(std::move(nodes)));
}

std::vector<SchemaViolation> JsonSchema::Validate(const json& instance,
                                                  size_t max_violations) const {
  Validator validator(*nodes_, std::max<size_t>(max_violations, 1));
  validator.Run(0, instance, "", 0);
  return validator.Take();
}

Status JsonSchema::Check(const json& instance, std::string_view instance_source) const {
  std::vector<SchemaViolation> violations = Validate(instance);
  if (violations.empty()) return Status::Ok();
  std::vector<std::string> lines;
  for (size_t i = 0; i < violations.size() && i < 8; ++i) lines.push_back(violations[i].ToString());
  std::string more =
      violations.size() > 8 ? fmt::format("; and {} more", violations.size() - 8) : "";
  return Status::Corruption("{}: does not follow its schema: {}{}", instance_source,
                            fmt::join(lines, "; "), more);
}

}  // namespace moedist
