#include "core/json_strict.h"

#include <gtest/gtest.h>

namespace moedist {
namespace {

struct BadJson {
  const char* text;
  const char* expect_in_message;
};

TEST(JsonStrict, RefusesEachDefectWithAReason) {
  const BadJson cases[] = {
      {R"({"a": 1, "a": 2})", "duplicate JSON key \"a\""},
      {R"({"x": {"b": 1, "b": 1}})", "duplicate JSON key \"b\""},
      {R"({"a": )", "invalid JSON"},
      {"{\"a\": \"\xff\"}", "invalid JSON"},
      {R"({"a": 1} trailing)", "invalid JSON"},
      {"", "invalid JSON"},
  };
  for (const BadJson& c : cases) {
    auto r = ParseJsonStrict(c.text, "test.json");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_NE(r.status().message().find("test.json"), std::string::npos);
    EXPECT_NE(r.status().message().find(c.expect_in_message), std::string::npos)
        << r.status().message();
  }
}

// nlohmann-json stops at a NUL byte as if the input ended there; verify_fuzz found a
// distribution.json.sig with bytes appended after a NUL that still verified
// (tests/fuzz/regressions/verify_fuzz/sig_bytes_after_nul).
TEST(JsonStrict, RefusesANulByteAnywhere) {
  using namespace std::string_view_literals;
  const std::string_view cases[] = {
      "{\"a\": 1}\0"sv,
      "{\"a\": 1}\n\0\0\0\xff garbage"sv,
      "\0{\"a\": 1}"sv,
      "{\"a\": \"x\0y\"}"sv,
  };
  for (std::string_view text : cases) {
    auto r = ParseJsonStrict(text, "test.json");
    ASSERT_FALSE(r.ok()) << text.size();
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_NE(r.status().message().find("NUL byte"), std::string::npos) << r.status().message();
  }
}

TEST(JsonStrict, SameKeyInSiblingObjectsIsFine) {
  auto r = ParseJsonStrict(R"({"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 1}, {"k": 2}]})", "t");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["b"]["k"], 2);
}

TEST(JsonStrict, DepthIsCapped) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  auto r = ParseJsonStrict(deep, "deep.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("deeper than"), std::string::npos);
  auto ok = ParseJsonStrict("[[[[1]]]]", "shallow.json");
  EXPECT_TRUE(ok.ok());
}

TEST(JsonStrict, StableDumpSortsKeys) {
  auto r = ParseJsonStrict(R"({"b": 1, "a": {"d": 2, "c": 3}})", "t");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(DumpJsonStable(*r, -1), R"({"a":{"c":3,"d":2},"b":1})");
}

}  // namespace
}  // namespace moedist
