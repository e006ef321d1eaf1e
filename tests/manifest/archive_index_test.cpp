// moedist-archive.json: serialised deterministically, read back exactly, and read strictly.
#include "manifest/archive_index.h"

#include <gtest/gtest.h>

namespace moedist {
namespace {

ArchiveIndex Sample() {
  ArchiveIndex index;
  index.node = "node-1";
  index.release_name = "sample";
  index.release_version = 7;
  index.manifest_sha256 = std::string(64, 'c');
  index.byte_planes["trunk/model-00001-of-00002.safetensors"] = {{128, 4096}, {4224, 2}};
  index.byte_planes["group-1/model-00001-of-00001.safetensors"] = {{96, 1u << 30}};
  return index;
}

TEST(ArchiveIndex, RoundTripsExactly) {
  const std::string bytes = SerializeArchiveIndex(Sample());
  auto parsed = ParseArchiveIndex(bytes, "idx");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->node, "node-1");
  EXPECT_EQ(parsed->release_version, 7u);
  EXPECT_EQ(parsed->byte_planes, Sample().byte_planes);
  EXPECT_EQ(SerializeArchiveIndex(*parsed), bytes);
  EXPECT_EQ(bytes.back(), '\n');
}

TEST(ArchiveIndex, MalformedIndexesAreRefused) {
  const std::string good = SerializeArchiveIndex(Sample());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  const struct {
    const char* what;
    std::string bytes;
    const char* message;
  } cases[] = {
      {"not json", "{", "idx"},
      {"duplicate key", replace("\"node\": \"node-1\"", "\"node\": \"node-1\", \"node\": \"x\""),
       "duplicate"},
      {"unknown field", replace("\"node\":", "\"extra\": 1, \"node\":"), "unknown field"},
      {"missing field", replace("\"node\": \"node-1\",", ""), "missing field"},
      {"other format", replace("moedist-node-archive", "zip"), "format"},
      {"newer version", replace("\"format_version\": 1", "\"format_version\": 3"), "version 3"},
      {"delta without reused", replace("\"format_version\": 1", "\"format_version\": 2"),
       "missing field index.reused"},
      {"chunk size", replace("1048576", "4096"), "plane_chunk_bytes"},
      {"float offset", replace("128,", "128.0,"), "non-negative integer"},
      {"negative length", replace("4096", "-4096"), "non-negative integer"},
      {"range not a pair", replace("4224,", "4224, 2,"), "[offset, length]"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseArchiveIndex(c.bytes, "idx");
    ASSERT_FALSE(parsed.ok()) << c.what;
    EXPECT_NE(parsed.status().message().find(c.message), std::string::npos)
        << c.what << ": " << parsed.status().message();
  }
}

}  // namespace
}  // namespace moedist
