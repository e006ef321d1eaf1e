// Node archives that should work: package → unpack gives back every byte of the node's part of
// the release, verify accepts the result, byte planes pay on the example model's BF16 weights,
// and package refuses a release it cannot vouch for.
#include "manifest/node_archive.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "formats/safetensors_reader.h"
#include "manifest/zstd_stream.h"
#include "tests/manifest/archive_testutil.h"
#include "tests/manifest/manifest_testutil.h"
#include "tests/test_dirs.h"

namespace moedist::testing {
namespace {

const fs::path kExampleCheckpoint =
    fs::path(moedist::test_dirs::SourceDir()) / "examples/model/checkpoint";

// A release whose trunk is the example checkpoint (real BF16 weights) and a small group-0.
fs::path MakeExampleRelease(const fs::path& dist, const PrivateKey& key) {
  fs::create_directories(dist / "trunk");
  for (const auto& e : fs::directory_iterator(kExampleCheckpoint)) {
    fs::copy_file(e.path(), dist / "trunk" / e.path().filename());
  }
  WriteBytes(dist / "group-0/notes/experts.bin", std::string(3000, 'e'));
  DistributionSections s;
  s.release = {"example", 1, kSampleCreated, kSampleExpires};
  s.source.family = "qwen3_moe";
  s.source.files = {{"config.json", 1, std::string(64, 'a')}};
  s.nodes = {{"node-0", {"trunk", "group-0"}, {}}, {"node-1", {"group-0"}, {}}};
  auto d = BuildDistribution(dist.string(), s, {.threads = 2});
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(SignRelease(dist.string(), key).ok());
  return dist;
}

PackageOptions Package(const fs::path& dist, const std::string& node, const fs::path& out) {
  PackageOptions o;
  o.dist_dir = dist.string();
  o.node = node;
  o.out_path = out.string();
  return o;
}

UnpackOptions Unpack(const fs::path& archive, const fs::path& out, const PrivateKey& key) {
  UnpackOptions o;
  o.archive_path = archive.string();
  o.out_dir = out.string();
  o.trusted_keys = {key.public_key()};
  return o;
}

// The node's files (and manifest, signature) in `dist` equal those in `out`, and `out` holds
// nothing else.
void ExpectSameNodeFiles(const fs::path& dist, const fs::path& out, const std::string& node) {
  auto d = ParseDistribution(ReadBytes(dist / "distribution.json"), "m").value();
  auto files = NodeArchiveFiles(d, node).value();
  std::vector<std::string> expected = {"distribution.json", "distribution.json.sig"};
  for (const NodeArchiveFile& f : files) expected.push_back(f.archive_path);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ListReleaseFiles(out), expected);
  for (const std::string& p : expected) {
    EXPECT_TRUE(ReadBytes(dist / p) == ReadBytes(out / p)) << p << " differs";
  }
}

TEST_F(SignedReleaseTest, PackageThenUnpackGivesBackTheNodeExactly) {
  const fs::path archive = tmp_.path() / "node-1.tar.zst";
  PackageOptions po = Package(dist_, "node-1", archive);
  po.trusted_keys = {key_.public_key()};
  auto packaged = PackageNode(po);
  ASSERT_TRUE(packaged.ok()) << packaged.status().ToString();
  EXPECT_TRUE(packaged->signature_checked);
  EXPECT_EQ(packaged->archive_bytes, fs::file_size(archive));
  EXPECT_EQ(packaged->archive_sha256, Sha256Hex(ReadBytes(archive)).value());

  const fs::path out = tmp_.path() / "installed";
  auto unpacked = UnpackNode(Unpack(archive, out, key_));
  ASSERT_TRUE(unpacked.ok()) << unpacked.status().ToString();
  EXPECT_EQ(unpacked->node, "node-1");
  EXPECT_TRUE(unpacked->signature_checked);
  EXPECT_EQ(unpacked->files, packaged->files);
  ExpectSameNodeFiles(dist_, out, "node-1");
  EXPECT_FALSE(fs::exists(out / "group-0"));

  // The result is a release directory that verify accepts for that node.
  VerifyOptions vo = SampleVerifyOptions(out, {key_.public_key()});
  vo.node = "node-1";
  const VerifyReport report = VerifyRelease(vo);
  EXPECT_TRUE(report.ok()) << DescribeProblems(report);
}

TEST_F(SignedReleaseTest, ArchiveBytesDependOnlyOnTheRelease) {
  PackageOptions a = Package(dist_, "node-0", tmp_.path() / "a.tar.zst");
  PackageOptions b = Package(dist_, "node-0", tmp_.path() / "b.tar.zst");
  b.threads = 2;
  ASSERT_TRUE(PackageNode(a).ok());
  ASSERT_TRUE(PackageNode(b).ok());
  EXPECT_TRUE(ReadBytes(a.out_path) == ReadBytes(b.out_path));
  // A plain tar.zst: GNU tar's view of the members is the manifest order.
  const auto members = ReadUstar(ZstdDecompress(ReadBytes(a.out_path)));
  ASSERT_GE(members.size(), 3u);
  EXPECT_EQ(members[0].name, "distribution.json");
  EXPECT_EQ(members[1].name, "distribution.json.sig");
  EXPECT_EQ(members[2].name, "moedist-archive.json");
}

TEST_F(SignedReleaseTest, UnpackWantsAKeyOrExplicitlyUnsigned) {
  const fs::path archive = tmp_.path() / "n.tar.zst";
  ASSERT_TRUE(PackageNode(Package(dist_, "node-0", archive)).ok());
  UnpackOptions o = Unpack(archive, tmp_.path() / "out", key_);
  o.trusted_keys.clear();
  auto r = UnpackNode(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  o.allow_unsigned = true;
  r = UnpackNode(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->signature_checked);

  // Another key: refused before anything is extracted.
  o = Unpack(archive, tmp_.path() / "out2", other_key_);
  r = UnpackNode(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("distribution.json.sig"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(tmp_.path() / "out2"));
}

TEST_F(SignedReleaseTest, UnpackRefusesANonEmptyDestinationAndAcceptsAnEmptyOne) {
  const fs::path archive = tmp_.path() / "n.tar.zst";
  ASSERT_TRUE(PackageNode(Package(dist_, "node-0", archive)).ok());
  const fs::path out = tmp_.path() / "out";
  WriteBytes(out / "keep.txt", "mine");
  auto r = UnpackNode(Unpack(archive, out, key_));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not empty"), std::string::npos);
  EXPECT_EQ(ReadBytes(out / "keep.txt"), "mine");
  fs::remove(out / "keep.txt");
  r = UnpackNode(Unpack(archive, out, key_));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectSameNodeFiles(dist_, out, "node-0");
  // A symlink as destination is refused, never followed.
  fs::create_directory_symlink(tmp_.path() / "elsewhere", tmp_.path() / "link");
  r = UnpackNode(Unpack(archive, tmp_.path() / "link", key_));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("symbolic link"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(tmp_.path() / "elsewhere")) << "the link was followed";
}

TEST_F(SignedReleaseTest, PackageRefusesWhatItCannotVouchFor) {
  const fs::path archive = tmp_.path() / "n.tar.zst";
  // A bundle file changed after the manifest was written: named, and no archive appears.
  FlipBit(dist_ / "group-0/experts.safetensors", 77);
  auto r = PackageNode(Package(dist_, "node-0", archive));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("group-0/experts.safetensors"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(archive));
  EXPECT_EQ(ListReleaseFiles(tmp_.path()).size(), ListReleaseFiles(dist_).size());
  FlipBit(dist_ / "group-0/experts.safetensors", 77);

  r = PackageNode(Package(dist_, "node-9", archive));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("node-9"), std::string::npos);

  PackageOptions wrong_key = Package(dist_, "node-0", archive);
  wrong_key.trusted_keys = {other_key_.public_key()};
  EXPECT_FALSE(PackageNode(wrong_key).ok());

  fs::remove(dist_ / "distribution.json.sig");
  r = PackageNode(Package(dist_, "node-0", archive));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("moedist sign"), std::string::npos);
  EXPECT_FALSE(fs::exists(archive));
}

class ExampleModelArchive : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = PrivateKey::Generate().value();
    dist_ = MakeExampleRelease(tmp_.path() / "dist", key_);
  }
  TempDir tmp_;
  PrivateKey key_;
  fs::path dist_;
};

TEST_F(ExampleModelArchive, RoundTripWithBytePlanesIsBytesIdentical) {
  const fs::path archive = tmp_.path() / "node-0.tar.zst";
  auto packaged = PackageNode(Package(dist_, "node-0", archive));
  ASSERT_TRUE(packaged.ok()) << packaged.status().ToString();
  EXPECT_GT(packaged->plane_ranges, 0u);
  EXPECT_GT(packaged->plane_bytes, 8u << 20);  // most of the 18 MB of BF16 weights
  auto unpacked = UnpackNode(Unpack(archive, tmp_.path() / "out", key_));
  ASSERT_TRUE(unpacked.ok()) << unpacked.status().ToString();
  EXPECT_EQ(unpacked->plane_bytes, packaged->plane_bytes);
  ExpectSameNodeFiles(dist_, tmp_.path() / "out", "node-0");
}

TEST_F(ExampleModelArchive, BytePlanesMakeTheArchiveSmaller) {
  std::map<std::string, uint64_t> size;
  for (int level : {1, 3}) {
    for (auto [mode, name] : {std::pair{PlaneChoiceOptions::kNever, "never"},
                              std::pair{PlaneChoiceOptions::kAuto, "auto"},
                              std::pair{PlaneChoiceOptions::kAlways, "always"}}) {
      PackageOptions o = Package(dist_, "node-0", tmp_.path() / "a.tar.zst");
      o.level = level;
      o.planes = mode;
      auto r = PackageNode(o);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      const std::string key = fmt::format("{}@{}", name, level);
      size[key] = r->archive_bytes;
      std::printf("example model node-0, zstd -%d, planes %-6s: %llu -> %llu bytes, ratio %.3f\n",
                  level, name, static_cast<unsigned long long>(r->file_bytes),
                  static_cast<unsigned long long>(r->archive_bytes),
                  static_cast<double>(r->file_bytes) / r->archive_bytes);
      ::testing::Test::RecordProperty("archive_bytes_" + key, std::to_string(r->archive_bytes));
    }
    EXPECT_LT(size[fmt::format("auto@{}", level)], size[fmt::format("never@{}", level)]);
  }
}

// The measurement behind the design: zstd ratio of the example model's BF16 weights (every
// BF16 tensor of every shard, in file order, one stream) as they are and as byte planes in
// kPlaneChunkBytes chunks, which is how an archive stores adjacent planed tensors.
TEST(BytePlaneRatio, ExampleModelBf16Weights) {
  std::vector<uint8_t> raw;
  uint64_t tensors = 0;
  std::vector<fs::path> shards;
  for (const auto& e : fs::directory_iterator(kExampleCheckpoint)) {
    if (e.path().extension() == ".safetensors") shards.push_back(e.path());
  }
  std::sort(shards.begin(), shards.end());
  for (const fs::path& shard : shards) {
    auto file = SafetensorsFile::Open(shard.string());
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    for (const SafetensorsTensor& t : (*file)->tensors()) {
      if (t.dtype != DType::kBF16) continue;
      const auto bytes = (*file)->TensorBytes(t);
      raw.insert(raw.end(), bytes.begin(), bytes.end());
      ++tensors;
    }
  }
  ASSERT_GT(tensors, 0u);
  std::vector<uint8_t> split(raw.size());
  for (size_t pos = 0; pos < raw.size(); pos += kPlaneChunkBytes) {
    const size_t n = std::min<size_t>(kPlaneChunkBytes, raw.size() - pos);
    SplitPlaneChunk(std::span(raw).subspan(pos, n), split.data() + pos);
  }
  for (int level : {1, 3}) {
    const double raw_ratio =
        static_cast<double>(raw.size()) / ZstdCompressedSize(raw, level).value();
    const double split_ratio =
        static_cast<double>(raw.size()) / ZstdCompressedSize(split, level).value();
    std::printf(
        "example model BF16 weights (%llu tensors, %zu bytes), zstd -%d: raw ratio %.3f, "
        "byte planes %.3f\n",
        static_cast<unsigned long long>(tensors), raw.size(), level, raw_ratio, split_ratio);
    ::testing::Test::RecordProperty(fmt::format("raw_ratio_level{}", level),
                                    fmt::format("{:.3f}", raw_ratio));
    ::testing::Test::RecordProperty(fmt::format("plane_ratio_level{}", level),
                                    fmt::format("{:.3f}", split_ratio));
    EXPECT_GT(split_ratio, raw_ratio * 1.05) << "byte planes should pay on trained BF16 weights";
  }
}

}  // namespace
}  // namespace moedist::testing
