// The JSON-Schema subset validator, keyword by keyword (table-driven), and its fail-closed
// refusal of keywords it does not implement.
#include "manifest/json_schema_check.h"

#include <gtest/gtest.h>

namespace moedist {
namespace {

using nlohmann::json;

struct Case {
  const char* name;
  json schema;
  json instance;
  bool valid;
};

class SchemaKeyword : public ::testing::TestWithParam<Case> {};

TEST_P(SchemaKeyword, Verdict) {
  const Case& c = GetParam();
  auto schema = JsonSchema::Compile(c.schema, "test schema");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  auto violations = schema->Validate(c.instance);
  std::string text;
  for (const auto& v : violations) text += v.ToString() + "\n";
  EXPECT_EQ(violations.empty(), c.valid) << c.name << "\n" << text;
}

const Case kCases[] = {
    {"type string ok", {{"type", "string"}}, "x", true},
    {"type string refused", {{"type", "string"}}, 1, false},
    {"integer accepts 1.0 (spec)", {{"type", "integer"}}, 1.0, true},
    {"integer refuses 1.5", {{"type", "integer"}}, 1.5, false},
    {"number accepts int", {{"type", "number"}}, 3, true},
    {"type list", {{"type", {"string", "null"}}}, nullptr, true},
    {"boolean is not integer", {{"type", "integer"}}, true, false},
    {"required present", {{"required", {"a"}}}, {{"a", 1}}, true},
    {"required missing", {{"required", {"a"}}}, {{"b", 1}}, false},
    {"properties apply", {{"properties", {{"a", {{"type", "string"}}}}}}, {{"a", 1}}, false},
    {"additionalProperties false",
     {{"properties", {{"a", true}}}, {"additionalProperties", false}},
     {{"a", 1}, {"b", 2}},
     false},
    {"additionalProperties schema",
     {{"additionalProperties", {{"type", "integer"}}}},
     {{"x", 1}, {"y", "no"}},
     false},
    {"patternProperties",
     {{"patternProperties", {{"^[0-9]+$", {{"type", "integer"}}}}},
      {"additionalProperties", false}},
     {{"12", 3}},
     true},
    {"propertyNames", {{"propertyNames", {{"pattern", "^[a-z]+$"}}}}, {{"Bad", 1}}, false},
    {"items", {{"items", {{"type", "integer"}}}}, {1, 2, "x"}, false},
    {"minItems", {{"minItems", 2}}, {1}, false},
    {"maxItems", {{"maxItems", 1}}, {1, 2}, false},
    {"uniqueItems refuses 1 and 1.0", {{"uniqueItems", true}}, {1, 1.0}, false},
    {"uniqueItems objects", {{"uniqueItems", true}}, {{{"a", 1}}, {{"a", 1}}}, false},
    {"uniqueItems ok", {{"uniqueItems", true}}, {1, 2, "1"}, true},
    {"enum", {{"enum", {"a", "b"}}}, "c", false},
    {"const", {{"const", 1}}, 1.0, true},
    {"const refused", {{"const", 1}}, 2, false},
    {"minimum", {{"minimum", 1}}, 0, false},
    {"maximum 2^53-1 exact", {{"maximum", 9007199254740991ull}}, 9007199254740992ull, false},
    {"maximum uint64", {{"maximum", 10}}, 18446744073709551615ull, false},
    {"minimum negative", {{"minimum", 0}}, -1, false},
    {"exclusiveMinimum", {{"exclusiveMinimum", 0}}, 0, false},
    {"minLength counts code points", {{"minLength", 2}}, "\xc3\xa9", false},
    {"maxLength counts code points", {{"maxLength", 1}}, "\xc3\xa9", true},
    {"pattern unanchored search", {{"pattern", "b"}}, "abc", true},
    {"pattern refused", {{"pattern", "^b"}}, "abc", false},
    {"pattern skipped on non-strings", {{"pattern", "^b"}}, 3, true},
    {"$ref to $defs",
     {{"$defs", {{"pos", {{"type", "integer"}, {"minimum", 1}}}}},
      {"items", {{"$ref", "#/$defs/pos"}}}},
     {1, 0},
     false},
    {"false schema", false, 1, false},
    {"true schema", true, json::object(), true},
};

INSTANTIATE_TEST_SUITE_P(Keywords, SchemaKeyword, ::testing::ValuesIn(kCases),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(JsonSchema, UnknownKeywordIsRefusedNotIgnored) {
  for (const char* keyword : {"oneOf", "anyOf", "if", "dependentRequired", "multipleOf", "contains",
                              "prefixItems", "unevaluatedProperties"}) {
    auto s = JsonSchema::Compile({{keyword, json::array()}}, "s");
    ASSERT_FALSE(s.ok()) << keyword;
    EXPECT_NE(s.status().message().find(keyword), std::string::npos) << s.status().message();
  }
}

TEST(JsonSchema, RefusesRefsOutsideDefsAndUndefinedRefs) {
  EXPECT_FALSE(JsonSchema::Compile({{"$ref", "http://example.com/x.json"}}, "s").ok());
  EXPECT_FALSE(JsonSchema::Compile({{"$ref", "#/$defs/missing"}}, "s").ok());
  EXPECT_FALSE(
      JsonSchema::Compile({{"$schema", "http://json-schema.org/draft-07/schema#"}}, "s").ok());
  EXPECT_FALSE(JsonSchema::Compile({{"pattern", "("}}, "s").ok());
}

TEST(JsonSchema, ViolationsNameTheInstancePath) {
  auto s = JsonSchema::Compile({{"properties", {{"a/b", {{"items", {{"type", "string"}}}}}}}}, "s");
  ASSERT_TRUE(s.ok());
  auto v = s->Validate({{"a/b", {"x", 2}}});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].instance_path, "/a~1b/1");
  EXPECT_EQ(v[0].keyword, "type");
}

TEST(JsonSchema, SelfReferentialRefTerminates) {
  auto s = JsonSchema::Compile({{"$defs", {{"a", {{"$ref", "#/$defs/a"}}}}}, {"$ref", "#/$defs/a"}},
                               "s");
  ASSERT_TRUE(s.ok());
  auto v = s->Validate(1);
  ASSERT_FALSE(v.empty());
  EXPECT_NE(v[0].message.find("recursion"), std::string::npos);
}

TEST(JsonSchema, ViolationCountIsCapped) {
  auto s = JsonSchema::Compile({{"items", {{"type", "string"}}}}, "s");
  ASSERT_TRUE(s.ok());
  json many = json::array();
  for (int i = 0; i < 1000; ++i) many.push_back(i);
  auto v = s->Validate(many, 10);
  ASSERT_EQ(v.size(), 10u);
  EXPECT_NE(v.back().message.find("990 more"), std::string::npos) << v.back().message;
}

}  // namespace
}  // namespace moedist
