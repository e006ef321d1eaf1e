// Byte planes: split and merge are inverse permutations, whatever the ranges and however the
// stream is cut into writes; malformed range lists are refused.
#include "manifest/byte_planes.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace moedist {
namespace {

class StringSink final : public ByteSink {
 public:
  Status Write(std::span<const uint8_t> bytes) override {
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return Status::Ok();
  }
  std::string out;
};

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Streams `in` through a sink in pieces of random size.
std::string Transform(PlaneTransformSink::Direction dir, const std::vector<PlaneRange>& ranges,
                      const std::string& in, uint32_t seed) {
  StringSink out;
  PlaneTransformSink sink(dir, ranges, &out);
  std::mt19937 rng(seed);
  for (size_t pos = 0; pos < in.size();) {
    const size_t n = std::min<size_t>(in.size() - pos, 1 + rng() % 300000);
    EXPECT_TRUE(sink.Write({reinterpret_cast<const uint8_t*>(in.data()) + pos, n}).ok());
    pos += n;
  }
  EXPECT_TRUE(sink.Finish("test").ok());
  return out.out;
}

TEST(BytePlanes, ChunkSplitPutsHighBytesFirst) {
  const uint8_t in[] = {0x10, 0xA1, 0x20, 0xA2, 0x30, 0xA3};
  uint8_t split[6], merged[6];
  SplitPlaneChunk(in, split);
  const uint8_t expected[] = {0xA1, 0xA2, 0xA3, 0x10, 0x20, 0x30};
  EXPECT_EQ(0, std::memcmp(split, expected, 6));
  MergePlaneChunk(split, merged);
  EXPECT_EQ(0, std::memcmp(merged, in, 6));
}

TEST(BytePlanes, VectorisedChunksMatchTheDefinitionForEveryLength) {
  const std::string in = RandomBytes(4096, 5);
  const auto* bytes = reinterpret_cast<const uint8_t*>(in.data());
  for (size_t n = 0; n <= in.size(); n += (n < 200 ? 2 : 222)) {
    std::vector<uint8_t> split(n), merged(n);
    SplitPlaneChunk({bytes, n}, split.data());
    for (size_t i = 0; i < n / 2; ++i) {
      ASSERT_EQ(split[i], bytes[2 * i + 1]) << "high byte " << i << " of " << n;
      ASSERT_EQ(split[n / 2 + i], bytes[2 * i]) << "low byte " << i << " of " << n;
    }
    MergePlaneChunk(split, merged.data());
    if (n > 0) {  // memcmp(nullptr, ..., 0) is UB
      ASSERT_EQ(0, std::memcmp(merged.data(), bytes, n)) << n;
    }
  }
}

TEST(BytePlanes, StreamRoundTripIsExactForManyRangeLayouts) {
  const std::string file = RandomBytes(3 * kPlaneChunkBytes + 1234, 1);
  const std::vector<std::vector<PlaneRange>> layouts = {
      {},
      {{0, file.size() - 1234}},
      {{100, 2}, {102, 4096}, {5000, 2 * kPlaneChunkBytes + 10}},
      {{file.size() - 2, 2}},
      {{7, kPlaneChunkBytes}, {kPlaneChunkBytes + 9, kPlaneChunkBytes + 2}},
  };
  for (size_t i = 0; i < layouts.size(); ++i) {
    ASSERT_TRUE(CheckPlaneRanges(layouts[i], file.size(), "layout").ok()) << i;
    const std::string stored = Transform(PlaneTransformSink::kSplit, layouts[i], file, 10 + i);
    ASSERT_EQ(stored.size(), file.size());
    if (!layouts[i].empty()) {
      EXPECT_NE(stored, file) << i;
    }
    // Bytes outside every range are untouched.
    const size_t first = layouts[i].empty() ? file.size() : layouts[i][0].offset;
    EXPECT_EQ(stored.substr(0, first), file.substr(0, first)) << i;
    EXPECT_EQ(Transform(PlaneTransformSink::kMerge, layouts[i], stored, 20 + i), file) << i;
  }
}

TEST(BytePlanes, ChunksOfARangeAreIndependent) {
  // The stored form of a range is the concatenation of its chunks' split forms.
  const std::string file = RandomBytes(kPlaneChunkBytes + 8, 2);
  const std::string stored = Transform(PlaneTransformSink::kSplit, {{0, file.size()}}, file, 3);
  std::string expected(file.size(), '\0');
  auto* in = reinterpret_cast<const uint8_t*>(file.data());
  auto* out = reinterpret_cast<uint8_t*>(expected.data());
  SplitPlaneChunk({in, kPlaneChunkBytes}, out);
  SplitPlaneChunk({in + kPlaneChunkBytes, 8}, out + kPlaneChunkBytes);
  EXPECT_EQ(stored, expected);
}

TEST(BytePlanes, MalformedRangesAreRefused) {
  const struct {
    const char* what;
    std::vector<PlaneRange> ranges;
    const char* message;
  } cases[] = {
      {"odd length", {{0, 3}}, "length 3"},
      {"empty", {{4, 0}}, "length 0"},
      {"overlap", {{0, 8}, {6, 4}}, "before the end"},
      {"unsorted", {{10, 2}, {0, 2}}, "before the end"},
      {"past end", {{90, 12}}, "past the end"},
      {"offset overflow", {{~uint64_t{0} - 1, 2}}, "past the end"},
  };
  for (const auto& c : cases) {
    const Status st = CheckPlaneRanges(c.ranges, 100, "f.safetensors");
    EXPECT_FALSE(st.ok()) << c.what;
    EXPECT_NE(st.message().find(c.message), std::string::npos) << c.what << ": " << st.message();
    EXPECT_NE(st.message().find("f.safetensors"), std::string::npos) << st.message();
  }
}

TEST(BytePlanes, StreamEndingInsideARangeIsRefused) {
  StringSink out;
  PlaneTransformSink sink(PlaneTransformSink::kMerge, {{0, 64}}, &out);
  const std::string half(32, 'x');
  ASSERT_TRUE(sink.Write({reinterpret_cast<const uint8_t*>(half.data()), half.size()}).ok());
  const Status st = sink.Finish("member.safetensors");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("member.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace moedist
