#include "formats/safetensors_reader.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/byte_sink.h"
#include "formats/safetensors_writer.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
const fs::path kHfTiny = fs::path(moedist::test_dirs::FixtureRoot()) / "fixtures" / "hf-tiny";

class VectorSink final : public ByteSink {
 public:
  Status Write(std::span<const uint8_t> b) override {
    bytes.insert(bytes.end(), b.begin(), b.end());
    return Status::Ok();
  }
  std::vector<uint8_t> bytes;
};

TEST(SafetensorsReader, ReadsEveryFixtureShard) {
  int shards = 0;
  for (const auto& family : fs::directory_iterator(kHfTiny)) {
    if (!family.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(family.path())) {
      if (f.path().extension() != ".safetensors") continue;
      auto file = SafetensorsFile::Open(f.path().string());
      ASSERT_TRUE(file.ok()) << file.status().ToString();
      EXPECT_GT((*file)->tensors().size(), 0u) << f.path();
      ++shards;
    }
  }
  EXPECT_GE(shards, 6 * 5);  // 4 model shards + reference per family
}

// Writing what we read gives a file our reader accepts, with identical tensor bytes; writing it
// twice gives identical bytes (determinism).
TEST(SafetensorsWriter, RoundTripsAFixtureShardDeterministically) {
  auto file =
      SafetensorsFile::Open((kHfTiny / "qwen3_moe" / "model-00001-of-00004.safetensors").string());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto make_sources = [&] {
    std::vector<SafetensorsSource> sources;
    for (const auto& t : (*file)->tensors()) {
      sources.push_back(SourceFromBytes(t.name, t.dtype, t.shape, (*file)->TensorBytes(t)));
    }
    return sources;
  };
  VectorSink a, b;
  ASSERT_TRUE(WriteSafetensors(make_sources(), {{"format", "pt"}}, a).ok());
  ASSERT_TRUE(WriteSafetensors(make_sources(), {{"format", "pt"}}, b).ok());
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ((a.bytes[0] | a.bytes[1] << 8) % 8, 0);
  auto reread = SafetensorsFile::Parse(nullptr, a.bytes, "roundtrip");
  ASSERT_TRUE(reread.ok()) << reread.status().ToString();
  EXPECT_EQ((*reread)->metadata().at("format"), "pt");
  for (const auto& t : (*file)->tensors()) {
    const SafetensorsTensor* r = (*reread)->Find(t.name);
    ASSERT_NE(r, nullptr) << t.name;
    EXPECT_EQ(r->shape, t.shape);
    auto x = (*file)->TensorBytes(t);
    auto y = (*reread)->TensorBytes(*r);
    EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin(), y.end())) << t.name;
  }
}

}  // namespace
}  // namespace moedist
