// Delta node archives (package --since, unpack --reuse): an archive of release v2 made against
// v1 carries only the node's files whose bytes v1 did not give that node; unpacked with the
// node's v1 directory it gives back exactly v2's files; without that directory, or with one whose
// files changed on disk, it is refused naming what is wrong; and a forged index cannot make
// unpack take a file the node does not have.
#include <gtest/gtest.h>

#include "manifest/archive_index.h"
#include "manifest/node_archive.h"
#include "tests/manifest/archive_testutil.h"
#include "tests/manifest/manifest_testutil.h"

namespace moedist::testing {
namespace {

class DeltaArchiveTest : public SignedReleaseTest {
 protected:
  void SetUp() override {
    SignedReleaseTest::SetUp();
    v2_ = MakeSignedRelease("v2", 2);  // group-1 changed, everything else the same bytes
    // node-1 as installed from a full v1 archive.
    PackageOptions full = PackageFor(dist_, tmp_.path() / "v1.tar.zst");
    ASSERT_TRUE(PackageNode(full).ok());
    ASSERT_TRUE(UnpackNode(UnpackFor(tmp_.path() / "v1.tar.zst", installed_v1())).ok());
  }

  PackageOptions PackageFor(const fs::path& dist, const fs::path& out) const {
    PackageOptions o;
    o.dist_dir = dist.string();
    o.node = "node-1";
    o.out_path = out.string();
    return o;
  }
  UnpackOptions UnpackFor(const fs::path& archive, const fs::path& out) const {
    UnpackOptions o;
    o.archive_path = archive.string();
    o.out_dir = out.string();
    o.trusted_keys = {key_.public_key()};
    return o;
  }
  fs::path installed_v1() const { return tmp_.path() / "installed-v1"; }

  // The v2 delta of node-1 against v1.
  Result<PackageReport> PackageDelta(const fs::path& out) const {
    PackageOptions o = PackageFor(v2_, out);
    o.since = dist_.string();
    return PackageNode(o);
  }

  fs::path v2_;
};

TEST_F(DeltaArchiveTest, CarriesOnlyChangedFilesAndUnpacksToTheNewRelease) {
  const fs::path delta = tmp_.path() / "delta.tar.zst";
  auto packaged = PackageDelta(delta);
  ASSERT_TRUE(packaged.ok()) << packaged.status().ToString();
  // node-1 = trunk (3 files) + group-1 + overlay (2 files): only group-1 changed.
  EXPECT_EQ(packaged->reused_files, 5u);
  EXPECT_EQ(packaged->files, 3u);  // manifest, signature, group-1/experts.safetensors
  auto full = PackageNode(PackageFor(v2_, tmp_.path() / "full.tar.zst"));
  ASSERT_TRUE(full.ok());
  EXPECT_LT(packaged->archive_bytes, full->archive_bytes);

  const fs::path out = tmp_.path() / "installed-v2";
  UnpackOptions uo = UnpackFor(delta, out);
  uo.reuse_dir = installed_v1().string();
  auto unpacked = UnpackNode(uo);
  ASSERT_TRUE(unpacked.ok()) << unpacked.status().ToString();
  EXPECT_EQ(unpacked->reused_files, 5u);
  EXPECT_EQ(unpacked->files, 8u);
  std::vector<std::string> want = {"distribution.json", "distribution.json.sig"};
  auto d = ParseDistribution(ReadBytes(v2_ / "distribution.json"), "v2").value();
  const std::vector<NodeArchiveFile> files = NodeArchiveFiles(d, "node-1").value();
  for (const NodeArchiveFile& f : files) want.push_back(f.archive_path);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ListReleaseFiles(out), want);
  for (const std::string& p : want) {
    EXPECT_TRUE(ReadBytes(v2_ / p) == ReadBytes(out / p)) << p << " differs";
  }
  VerifyOptions vo = SampleVerifyOptions(out, {key_.public_key()});
  vo.node = "node-1";
  const VerifyReport report = VerifyRelease(vo);
  EXPECT_TRUE(report.ok()) << DescribeProblems(report);
}

TEST_F(DeltaArchiveTest, WithoutTheEarlierReleaseItIsRefusedSayingWhatToGive) {
  const fs::path delta = tmp_.path() / "delta.tar.zst";
  ASSERT_TRUE(PackageDelta(delta).ok());
  const fs::path out = tmp_.path() / "out";
  auto unpacked = UnpackNode(UnpackFor(delta, out));
  ASSERT_FALSE(unpacked.ok());
  EXPECT_EQ(unpacked.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unpacked.status().message().find("--reuse"), std::string::npos)
      << unpacked.status().ToString();
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(DeltaArchiveTest, AReusedFileChangedOnDiskIsRefusedNamingIt) {
  const fs::path delta = tmp_.path() / "delta.tar.zst";
  ASSERT_TRUE(PackageDelta(delta).ok());
  FlipBit(installed_v1() / "overlay/experts.safetensors", 3);
  const fs::path out = tmp_.path() / "out";
  UnpackOptions uo = UnpackFor(delta, out);
  uo.reuse_dir = installed_v1().string();
  auto unpacked = UnpackNode(uo);
  ASSERT_FALSE(unpacked.ok());
  EXPECT_EQ(unpacked.status().code(), StatusCode::kCorruption);
  EXPECT_NE(unpacked.status().message().find("overlay/experts.safetensors"), std::string::npos)
      << unpacked.status().ToString();
  EXPECT_NE(unpacked.status().message().find("changed on disk"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(DeltaArchiveTest, SinceAnUnreadableManifestIsRefusedNamingIt) {
  const fs::path other = tmp_.path() / "other";
  fs::create_directories(other);
  WriteBytes(other / "distribution.json", "not json");
  PackageOptions o = PackageFor(v2_, tmp_.path() / "x.tar.zst");
  o.since = other.string();
  auto bad = PackageNode(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("distribution.json"), std::string::npos)
      << bad.status().ToString();
}

TEST_F(DeltaArchiveTest, AForgedIndexCannotReuseAFileTheNodeDoesNotHave) {
  // The index is not signed: make the full v2 archive of node-1 claim it reuses group-0's file.
  auto full = PackageNode(PackageFor(v2_, tmp_.path() / "full.tar.zst"));
  ASSERT_TRUE(full.ok());
  auto members = ReadUstar(ZstdDecompress(ReadBytes(tmp_.path() / "full.tar.zst")));
  ASSERT_EQ(members[2].name, "moedist-archive.json");
  auto index = ParseArchiveIndex(members[2].data, "index");
  ASSERT_TRUE(index.ok());
  index->reused = {"group-0/experts.safetensors"};
  members[2].data = SerializeArchiveIndex(*index);
  const fs::path forged = tmp_.path() / "forged.tar.zst";
  WriteBytes(forged, ZstdCompress(WriteUstar(members)));
  UnpackOptions uo = UnpackFor(forged, tmp_.path() / "out");
  uo.reuse_dir = installed_v1().string();
  auto unpacked = UnpackNode(uo);
  ASSERT_FALSE(unpacked.ok());
  EXPECT_NE(unpacked.status().message().find("which node node-1 does not have"), std::string::npos)
      << unpacked.status().ToString();
}

TEST(ArchiveIndexDelta, ReusedListRoundTripsOnlyInVersion2) {
  ArchiveIndex index;
  index.node = "node-1";
  index.release_name = "sample";
  index.release_version = 2;
  index.manifest_sha256 = std::string(64, 'a');
  index.reused = {"overlay/a", "trunk/b"};
  const std::string text = SerializeArchiveIndex(index);
  EXPECT_NE(text.find("\"format_version\": 2"), std::string::npos) << text;
  auto back = ParseArchiveIndex(text, "index");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->reused, index.reused);

  // Unsorted, and "reused" in a version-1 index, are refused.
  std::string unsorted = text;
  unsorted.replace(unsorted.find("\"overlay/a\""), 11, "\"zzzzzzz/a\"");
  EXPECT_FALSE(ParseArchiveIndex(unsorted, "index").ok());
  std::string v1 = text;
  v1.replace(v1.find("\"format_version\": 2"), 19, "\"format_version\": 1");
  auto refused = ParseArchiveIndex(v1, "index");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("reused"), std::string::npos)
      << refused.status().ToString();
}

}  // namespace
}  // namespace moedist::testing
