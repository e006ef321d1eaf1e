// JsonSchema: a small validator for the subset of JSON Schema draft 2020-12 that moedist's own
// schemas use, so the C++ reader enforces the same document that python-jsonschema checks in
// tests/schemas/. Supported keywords: type, required, properties, patternProperties,
// additionalProperties, propertyNames, minProperties, maxProperties, items, minItems, maxItems,
// uniqueItems, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
// maxLength, pattern (std::regex, ECMAScript flavour, searched unanchored like the spec says),
// $ref (only "#/$defs/<name>") and $defs; annotations ($schema, $id, $comment, title,
// description, examples, default, deprecated, format) are accepted and do not assert.
//
// Fail closed: a schema using any other keyword is refused at Compile(), never silently
// half-enforced. Lengths count Unicode code points and 1.0 is an integer, as the spec says.
// Thread safety: immutable after Compile(); Validate() may run concurrently.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace moedist {

struct SchemaViolation {
  std::string instance_path;  // JSON pointer into the instance, "" for the root
  std::string keyword;        // the keyword that failed ("required", "pattern", ...)
  std::string message;        // what was found and what was expected
  std::string ToString() const;
};

class JsonSchema {
 public:
  // `source` names the schema in errors ("schemas/distribution.schema.json").
  static Result<JsonSchema> Compile(const nlohmann::json& schema, std::string_view source);

  // Every violation, up to `max_violations` (the rest are counted in the last message).
  std::vector<SchemaViolation> Validate(const nlohmann::json& instance,
                                        size_t max_violations = 64) const;

  // Corruption naming `instance_source` and the first few violations, or OK.
  Status Check(const nlohmann::json& instance, std::string_view instance_source) const;

  struct Node;  // compiled schema node (json_schema_check.cpp)

 private:
  explicit JsonSchema(std::shared_ptr<const std::vector<Node>> nodes) : nodes_(std::move(nodes)) {}
  std::shared_ptr<const std::vector<Node>> nodes_;  // nodes_[0] is the root
};

}  // namespace moedist
