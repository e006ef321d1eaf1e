// distribution.json: deterministic serialisation, strict parsing, path and name rules.
#include "manifest/distribution.h"

#include <gtest/gtest.h>

#include <functional>

#include "manifest/release_path.h"
#include "manifest/release_time.h"
#include "tests/manifest/manifest_testutil.h"

namespace moedist {
namespace {

using nlohmann::json;
using namespace moedist::testing;

Distribution SampleDistribution() {
  Distribution d;
  d.release = {"sample", 3, "2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z"};
  d.source.family = "qwen3_moe";
  d.source.files = {{"model.safetensors", 10, std::string(64, 'a')}};
  d.recipe = {{"b", 1}, {"a", {{"z", 1}, {"y", 2}}}};
  d.partition = {{"layers", {{"3", {{"groups", {{0, 1}, {2, 3}}}, {"overlay", {4}}}}}}};
  d.bundles["trunk"].files = {{"a.bin", 1, std::string(64, 'c')},
                              {"sub/b.bin", 2, std::string(64, 'd')}};
  d.bundles["group-0"].files = {{"e.bin", 3, std::string(64, 'e')}};
  d.nodes = {{"node-0", {"trunk", "group-0"}, {{"rank", 0}}}};
  return d;
}

json SampleJson() {
  return DistributionToJson(SampleDistribution());
}

Status ParseJson(const json& j) {
  return ParseDistribution(j.dump(), "distribution.json").status();
}

TEST(Distribution, SerialisationIsDeterministicSortedAndEndsWithNewline) {
  const std::string a = SerializeDistribution(SampleDistribution());
  const std::string b = SerializeDistribution(SampleDistribution());
  EXPECT_EQ(a, b);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a.back(), '\n');
  EXPECT_NE(a[a.size() - 2], '\n');
  // Sorted keys at every level, two-space indent.
  EXPECT_LT(a.find("\"bundles\""), a.find("\"calibration\""));
  EXPECT_LT(a.find("\"a\": {"), a.find("\"b\": 1"));
  EXPECT_LT(a.find("\"y\": 2"), a.find("\"z\": 1"));
  EXPECT_EQ(a.substr(0, 4), "{\n  ");
}

TEST(Distribution, RoundTripsThroughTheStrictReader) {
  const std::string bytes = SerializeDistribution(SampleDistribution());
  auto d = ParseDistribution(bytes, "distribution.json");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(SerializeDistribution(*d), bytes);
  EXPECT_EQ(d->release.version, 3u);
  EXPECT_EQ(d->bundles.at("trunk").files[1].path, "sub/b.bin");
  EXPECT_EQ(d->FindNode("node-0")->facts["rank"], 0);
  auto layers = d->PartitionLayers();
  ASSERT_EQ(layers.count(3), 1u);
  EXPECT_EQ(layers[3].groups[1], (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(layers[3].overlay, (std::vector<uint32_t>{4}));
}

// `tiers` is optional: absent, the manifest has no such key (older releases keep their bytes and
// signatures); present, it round-trips as given.
TEST(Distribution, TiersSectionIsOptionalAndRoundTrips) {
  Distribution without = SampleDistribution();
  EXPECT_FALSE(DistributionToJson(without).contains("tiers"));
  Distribution with = without;
  with.tiers = json{{"percents", {50, 80, 90}}, {"resident", {{"bytes", 7}}}};
  const std::string bytes = SerializeDistribution(with);
  EXPECT_NE(bytes, SerializeDistribution(without));
  auto d = ParseDistribution(bytes, "distribution.json");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_TRUE(d->tiers.has_value());
  EXPECT_EQ(*d->tiers, *with.tiers);
  EXPECT_EQ(SerializeDistribution(*d), bytes);
  auto old = ParseDistribution(SerializeDistribution(without), "distribution.json");
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->tiers.has_value());
}

TEST(Distribution, SchemaCompilesAndAcceptsTheSample) {
  EXPECT_TRUE(DistributionSchema().Validate(SampleJson()).empty());
}

struct Mutation {
  const char* name;
  std::function<void(json&)> apply;
  const char* expect;  // substring of the error
};

class DistributionRefuses : public ::testing::TestWithParam<Mutation> {};

TEST_P(DistributionRefuses, Mutation) {
  json j = SampleJson();
  GetParam().apply(j);
  Status st = ParseJson(j);
  ASSERT_FALSE(st.ok()) << GetParam().name;
  EXPECT_NE(st.message().find(GetParam().expect), std::string::npos)
      << GetParam().name << ": " << st.message();
}

auto SetFile(const char* field, json v) {
  return [field, v](json& j) { j["bundles"]["trunk"]["files"][0][field] = v; };
}

const Mutation kMutations[] = {
    {"missing section", [](json& j) { j.erase("recipe"); }, "\"recipe\" is missing"},
    {"unknown top-level field", [](json& j) { j["extra"] = 1; }, "\"extra\" is not allowed"},
    {"tiers not an object", [](json& j) { j["tiers"] = json::array(); }, "tiers"},
    {"version zero", [](json& j) { j["release"]["version"] = 0; }, "minimum"},
    {"version negative", [](json& j) { j["release"]["version"] = -1; }, "minimum"},
    {"version as string", [](json& j) { j["release"]["version"] = "3"; }, "expected integer"},
    {"version written 3.0", [](json& j) { j["release"]["version"] = 3.0; },
     "as a non-negative integer"},
    {"size written 1.0", SetFile("size", 1.0), "as a non-negative integer"},
    {"size above 2^53", SetFile("size", 9007199254740992ull), "maximum"},
    {"upper-case digest", SetFile("sha256", std::string(64, 'A')), "pattern"},
    {"short digest", SetFile("sha256", std::string(63, 'a')), "sha256"},
    {"digest with newline", SetFile("sha256", std::string(63, 'a') + "\n"), "sha256"},
    {"dot-dot path", SetFile("path", "../etc/passwd"), "path"},
    {"inner dot-dot path", SetFile("path", "a/../../b"), "path"},
    {"dot component", SetFile("path", "./a"), "path"},
    {"absolute path", SetFile("path", "/etc/passwd"), "path"},
    {"backslash path", SetFile("path", "a\\b"), "path"},
    {"NUL in path", SetFile("path", std::string("a\0b", 3)), "path"},
    {"newline in path", SetFile("path", "a\nb"), "path"},
    {"trailing newline in path", SetFile("path", "a\n"), "path"},
    {"empty component", SetFile("path", "a//b"), "path"},
    {"trailing slash", SetFile("path", "a/"), "path"},
    {"empty path", SetFile("path", ""), "path"},
    {"long component", SetFile("path", std::string(256, 'x')), "component of 256 bytes"},
    {"duplicate path", [](json& j) { j["bundles"]["trunk"]["files"][1]["path"] = "a.bin"; },
     "appears twice"},
    {"case-insensitive duplicate path",
     [](json& j) { j["bundles"]["trunk"]["files"][1]["path"] = "A.BIN"; },
     "differ only in letter case"},
    {"bad bundle name", [](json& j) { j["bundles"]["../x"] = j["bundles"]["trunk"]; }, "bundles"},
    {"hidden bundle name", [](json& j) { j["bundles"][".git"] = j["bundles"]["trunk"]; },
     "bundles"},
    {"case-insensitive duplicate bundle",
     [](json& j) { j["bundles"]["TRUNK"] = j["bundles"]["trunk"]; }, "differ only in letter case"},
    {"duplicate node id", [](json& j) { j["nodes"].push_back(j["nodes"][0]); }, "appears twice"},
    {"node with no bundles", [](json& j) { j["nodes"][0]["bundles"] = json::array(); },
     "expected at least 1"},
    {"node naming a bundle twice",
     [](json& j) {
       j["nodes"][0]["bundles"] = {"trunk", "trunk"};
     },
     "appears more than once"},
    {"bad timestamp", [](json& j) { j["release"]["created"] = "2025-02-30T00:00:00Z"; },
     "no such date"},
    {"timestamp with offset",
     [](json& j) { j["release"]["created"] = "2025-01-01T00:00:00+01:00"; }, "created"},
    {"expires before created", [](json& j) { j["release"]["expires"] = "2024-01-01T00:00:00Z"; },
     "is not after"},
    {"expert in two groups", [](json& j) { j["partition"]["layers"]["3"]["groups"][1][0] = 0; },
     "more than one group"},
    {"layer key not a number",
     [](json& j) {
       j["partition"]["layers"]["x"] = {{"groups", json::array()}};
     },
     "pattern"},
    {"expert negative", [](json& j) { j["partition"]["layers"]["3"]["overlay"] = {-1}; },
     "minimum"},
    {"opaque section not an object", [](json& j) { j["recipe"] = json::array(); },
     "expected object"},
    {"newer schema", [](json& j) { j["schema_version"] = 2; }, "schema_version 2 is not supported"},
    {"not an object", [](json& j) { j = json::array(); }, "expected object"},
};

INSTANTIATE_TEST_SUITE_P(Manifest, DistributionRefuses, ::testing::ValuesIn(kMutations),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(Distribution, DuplicateJsonKeyRefused) {
  std::string bytes = SerializeDistribution(SampleDistribution());
  const size_t at = bytes.find("\"schema_version\"");
  bytes.insert(at, "\"schema_version\": 1,\n  ");
  auto d = ParseDistribution(bytes, "distribution.json");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("duplicate JSON key"), std::string::npos);
}

TEST(Distribution, OversizedBytesRefusedBeforeParsing) {
  std::string bytes(kMaxManifestBytes + 1, ' ');
  auto d = ParseDistribution(bytes, "distribution.json");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("byte limit"), std::string::npos);
}

TEST(Distribution, NonAsciiPathsAreAllowed) {
  json j = SampleJson();
  j["bundles"]["trunk"]["files"][0]["path"] = "d\xc3\xa9j\xc3\xa0/\xe6\xa8\xa1\xe5\x9e\x8b.bin";
  EXPECT_TRUE(ParseJson(j).ok()) << ParseJson(j).ToString();
}

TEST(Distribution, LongestAllowedPathPassesTheSchemaPattern) {
  // 5 components of 204 bytes + 4 slashes = 1024 bytes: the pattern (std::regex, which recurses
  // per character) runs on the longest string the schema lets reach it.
  std::string path;
  for (int i = 0; i < 5; ++i) path += (i ? "/" : "") + std::string(204, static_cast<char>('a' + i));
  ASSERT_EQ(path.size(), kMaxReleasePathBytes);
  json j = SampleJson();
  j["bundles"]["trunk"]["files"][0]["path"] = path;
  EXPECT_TRUE(ParseJson(j).ok()) << ParseJson(j).ToString();
  j["bundles"]["trunk"]["files"][0]["path"] = path + "x";
  EXPECT_FALSE(ParseJson(j).ok());
}

TEST(Distribution, NodeNamingAnUnknownBundleParses) {
  // Completeness is verify's check 6 (exit 1, naming the node), not a schema error.
  json j = SampleJson();
  j["nodes"][0]["bundles"].push_back("group-9");
  EXPECT_TRUE(ParseJson(j).ok());
}

struct PathCase {
  const char* path;
  bool ok;
};

TEST(ReleasePath, Rules) {
  const PathCase cases[] = {
      {"a", true},     {"a/b/c.bin", true}, {"..a", true},    {"a..", true},   {".hidden", true},
      {"a/.b", true},  {"", false},         {"/a", false},    {"a/", false},   {"a//b", false},
      {".", false},    {"..", false},       {"a/./b", false}, {"a/..", false}, {"../a", false},
      {"a\\b", false}, {"a\x01", false},    {"a\x7f", false},
  };
  for (const PathCase& c : cases) {
    EXPECT_EQ(CheckReleasePath(c.path, "t").ok(), c.ok) << "\"" << c.path << "\"";
  }
  EXPECT_FALSE(CheckReleasePath(std::string_view("a\0b", 3), "t").ok());
  EXPECT_FALSE(CheckReleasePath(std::string(kMaxReleasePathBytes + 1, 'a'), "t").ok());
  EXPECT_TRUE(CheckReleaseName("group-0", "t").ok());
  EXPECT_FALSE(CheckReleaseName("-x", "t").ok());
  EXPECT_FALSE(CheckReleaseName("a/b", "t").ok());
  EXPECT_FALSE(CheckReleaseName("..", "t").ok());
}

TEST(ReleaseTime, StrictRfc3339Utc) {
  EXPECT_EQ(ParseRfc3339Utc("1970-01-01T00:00:00Z", "t").value(), 0);
  EXPECT_EQ(ParseRfc3339Utc("2024-02-29T23:59:59Z", "t").value(), 1709251199);
  EXPECT_EQ(FormatRfc3339Utc(1709251199), "2024-02-29T23:59:59Z");
  for (const char* bad : {"2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z",
                          "2024-01-01T00:00:60Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00z",
                          "2024-01-01T00:00:00.5Z", "2024-01-01T00:00:00+00:00", ""}) {
    EXPECT_FALSE(ParseRfc3339Utc(bad, "t").ok()) << bad;
  }
}

}  // namespace
}  // namespace moedist
