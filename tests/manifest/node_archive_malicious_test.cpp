// Hostile node archives (reliability rows 26–29): each defect is built from a good archive of
// the sample release (or the example model, for byte planes) by editing its members with the
// test's own ustar writer, then handed to UnpackNode. Every one must be refused with a message
// naming the member, and must leave neither the destination nor a temporary directory behind.
#include <gtest/gtest.h>

#include <functional>

#include "manifest/archive_index.h"
#include "manifest/node_archive.h"
#include "tests/manifest/archive_testutil.h"
#include "tests/manifest/manifest_testutil.h"
#include "tests/test_dirs.h"

namespace moedist::testing {
namespace {

using Members = std::vector<TarMember>;

TarMember* Find(Members& m, const std::string& name) {
  for (TarMember& x : m) {
    if (x.name == name) return &x;
  }
  ADD_FAILURE() << "no member " << name;
  return &m.front();
}

struct Defect {
  const char* name;
  std::function<void(Members&)> edit;  // on the decompressed members
  const char* message;                 // expected in the error
};

class MaliciousArchive : public SignedReleaseTest {
 protected:
  void SetUp() override {
    SignedReleaseTest::SetUp();
    PackageOptions o;
    o.dist_dir = dist_.string();
    o.node = "node-0";
    o.out_path = (tmp_.path() / "good.tar.zst").string();
    ASSERT_TRUE(PackageNode(o).ok());
    good_ = ReadBytes(o.out_path);
    members_ = ReadUstar(ZstdDecompress(good_));
    ASSERT_EQ(members_.size(), 3u + 6u);  // head + trunk (3 files), group-0, overlay (2)
  }

  // Unpacks `compressed`; expects a refusal mentioning `message` and no trace on disk.
  void ExpectRefused(const std::string& what, const std::string& compressed,
                     const std::string& message) {
    const fs::path archive = tmp_.path() / "bad.tar.zst";
    const fs::path parent = tmp_.path() / "install";
    fs::create_directories(parent);
    WriteBytes(archive, compressed);
    UnpackOptions o;
    o.archive_path = archive.string();
    o.out_dir = (parent / "node").string();
    o.trusted_keys = {key_.public_key()};
    auto r = UnpackNode(o);
    ASSERT_FALSE(r.ok()) << what << ": accepted";
    EXPECT_NE(r.status().message().find(message), std::string::npos)
        << what << ": " << r.status().message();
    // Only the release lock, which every writer of node/ takes (manifest/release_stage.h) and
    // which holds nothing, may remain beside it.
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(parent)) left.push_back(e.path().filename());
    std::erase(left, ".node.moedist-lock");
    EXPECT_TRUE(left.empty()) << what << ": left " << left.size() << " files behind, first "
                              << (left.empty() ? "" : left[0]);
    fs::remove_all(parent);
  }

  void Run(const Defect& d) {
    Members m = members_;
    d.edit(m);
    ExpectRefused(d.name, ZstdCompress(WriteUstar(m)), d.message);
  }

  std::string good_;
  Members members_;
};

TEST_F(MaliciousArchive, GoodArchiveRebuiltByTheTestWriterIsAccepted) {
  // The baseline: the test's own ustar writer produces archives unpack accepts, so each
  // refusal below is caused by its defect alone.
  const fs::path archive = tmp_.path() / "rebuilt.tar.zst";
  WriteBytes(archive, ZstdCompress(WriteUstar(members_)));
  UnpackOptions o;
  o.archive_path = archive.string();
  o.out_dir = (tmp_.path() / "ok").string();
  o.trusted_keys = {key_.public_key()};
  auto r = UnpackNode(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(MaliciousArchive, EntriesThatAreNotListedRegularFilesAreRefused) {
  const std::string listed = "trunk/config.json";
  const Defect defects[] = {
      {"path traversal",
       [](Members& m) {
         m.push_back({"../evil.txt", "x"});
       },
       "member \"../evil.txt\""},
      {"traversal inside a bundle",
       [](Members& m) {
         m.push_back({"trunk/../../evil", "x"});
       },
       "member \"trunk/../../evil\""},
      {"absolute path",
       [](Members& m) {
         m.push_back({"/etc/evil", "x"});
       },
       "member \"/etc/evil\""},
      {"symlink",
       [](Members& m) {
         m.push_back({"trunk/link", "", '2', "/etc/passwd"});
       },
       "member \"trunk/link\": symbolic link"},
      {"hardlink",
       [&](Members& m) {
         m.push_back({"trunk/hard", "", '1', listed});
       },
       "member \"trunk/hard\": hard link"},
      {"hardlink over a listed name",
       [&](Members& m) {
         TarMember* f = Find(m, listed);
         *f = {listed, "", '1', "/etc/passwd"};
       },
       "member \"trunk/config.json\": hard link"},
      {"character device",
       [](Members& m) {
         m.push_back({"trunk/tty", "", '3'});
       },
       "member \"trunk/tty\": a character device"},
      {"block device",
       [](Members& m) {
         m.push_back({"trunk/sda", "", '4'});
       },
       "member \"trunk/sda\": a block device"},
      {"FIFO",
       [](Members& m) {
         m.push_back({"trunk/fifo", "", '6'});
       },
       "member \"trunk/fifo\": a FIFO"},
      {"directory",
       [](Members& m) {
         m.push_back({"trunk/sub", "", '5'});
       },
       "member \"trunk/sub\": a directory"},
      {"setuid bit", [&](Members& m) { Find(m, listed)->mode = 04755; },
       "member \"trunk/config.json\": setuid"},
      {"duplicate entry", [&](Members& m) { m.push_back(*Find(m, listed)); },
       "member \"trunk/config.json\": duplicate"},
      {"duplicate ignoring case",
       [&](Members& m) {
         TarMember copy = *Find(m, listed);
         copy.name = "TRUNK/config.json";
         m.push_back(copy);
       },
       "member \"TRUNK/config.json\": duplicate"},
      {"duplicate head member", [](Members& m) { m.push_back(m[0]); },
       "member \"distribution.json\": duplicate"},
      {"unnamed file",
       [](Members& m) {
         m.insert(m.begin() + 4, {"", "x"});
       },
       "member 4 has no name"},
      {"file not in the manifest",
       [](Members& m) {
         m.push_back({"trunk/extra.bin", "x"});
       },
       "member \"trunk/extra.bin\": not listed"},
      {"file of another node",
       [](Members& m) {
         m.push_back({"group-1/experts.safetensors", "x"});
       },
       "member \"group-1/experts.safetensors\": not listed"},
      {"control character in a name",
       [](Members& m) {
         m.push_back({"trunk/a\x1b[2Jb", "x"});
       },
       "trunk/a\\x1b[2Jb"},
      {"missing file",
       [&](Members& m) {
         m.erase(std::find_if(m.begin(), m.end(),
                              [&](const TarMember& x) { return x.name == listed; }));
       },
       "missing: trunk/config.json"},
  };
  for (const Defect& d : defects) Run(d);
}

TEST_F(MaliciousArchive, HeadMembersMustComeFirstAndBeTrustworthy) {
  const Defect defects[] = {
      {"signature first", [](Members& m) { std::swap(m[0], m[1]); },
       "member 0 is \"distribution.json.sig\", expected \"distribution.json\""},
      {"no index", [](Members& m) { m.erase(m.begin() + 2); }, "expected \"moedist-archive.json\""},
      {"manifest changed after signing",
       [](Members& m) { m[0].data.insert(m[0].data.size() - 1, " "); }, "signature"},
      {"index for another manifest",
       [](Members& m) {
         auto index = ParseArchiveIndex(m[2].data, "i").value();
         index.manifest_sha256 = std::string(64, '0');
         m[2].data = SerializeArchiveIndex(index);
       },
       "moedist-archive.json: written for another distribution.json"},
      {"index naming an unknown node",
       [](Members& m) {
         auto index = ParseArchiveIndex(m[2].data, "i").value();
         index.node = "node-7";
         m[2].data = SerializeArchiveIndex(index);
       },
       "node \"node-7\""},
      {"index with planes past a file's end",
       [](Members& m) {
         auto index = ParseArchiveIndex(m[2].data, "i").value();
         index.byte_planes["trunk/config.json"] = {{0, 4096}};
         m[2].data = SerializeArchiveIndex(index);
       },
       "trunk/config.json: byte-plane range 0"},
      {"huge manifest (bomb)",
       [](Members& m) {
         m[0].header_size = 64ull << 20;
         m[0].data.resize(64ull << 20);
       },
       "member \"distribution.json\": 67108864 bytes; at most 16777216"},
  };
  for (const Defect& d : defects) Run(d);
}

TEST_F(MaliciousArchive, SizesAreCappedByTheManifest) {
  // A zip bomb: 256 MiB of zeros (a few KB compressed) under a name the manifest lists with
  // 1000 bytes. Refused from the header, before any of it is inflated into a file.
  Members bomb = members_;
  TarMember* f = Find(bomb, "overlay/experts.safetensors");
  f->data.assign(256ull << 20, '\0');
  const std::string compressed = ZstdCompress(WriteUstar(bomb), 1);
  EXPECT_LT(compressed.size(), 1u << 20);
  ExpectRefused("zip bomb", compressed,
                "member \"overlay/experts.safetensors\": header says 268435456 bytes, "
                "distribution.json lists 1000");
  // A header that claims less than the manifest lists.
  Run({"short member", [](Members& m) { Find(m, "overlay/experts.safetensors")->data.resize(999); },
       "member \"overlay/experts.safetensors\": header says 999 bytes"});
}

TEST_F(MaliciousArchive, DamagedStreamsAreRefused) {
  // Truncated at several points: inside the head, inside a bundle file, just before the end.
  for (double cut : {0.1, 0.5, 0.97}) {
    const std::string truncated = good_.substr(0, static_cast<size_t>(good_.size() * cut));
    ExpectRefused(fmt::format("truncated at {}", cut), truncated, "truncated");
  }
  // A bit flipped in the compressed data: zstd's checksum or SHA-256 catches it.
  std::string flipped = good_;
  flipped[flipped.size() / 2] ^= 0x10;
  ExpectRefused("flipped bit", flipped, "bad.tar.zst");
  // Not zstd at all; zstd wrapping something that is not tar.
  ExpectRefused("plain tar", WriteUstar(members_), "zstd");
  ExpectRefused("zstd of text", ZstdCompress(std::string(4096, 'a')), "tar");
  // A frame asking for a 256 MiB window (more than the 128 MiB cap).
  ExpectRefused("window too large", ZstdCompress(WriteUstar(members_), 3, 28),
                "window larger than the limit");
  // An endless tail after the end of the tar archive: inflated up to a cap, then refused.
  ExpectRefused("endless trailing data",
                ZstdCompress(WriteUstar(members_) + std::string(40 << 20, 'j'), 1),
                "bytes after the end of the tar archive");
}

TEST_F(MaliciousArchive, CorruptedListedFileIsNamed) {
  Run({"flipped byte in a listed file",
       [](Members& m) { Find(m, "trunk/model.safetensors")->data[100] ^= 1; },
       "member \"trunk/model.safetensors\": SHA-256 of the extracted bytes"});
}

// Byte planes: the example model's BF16 tensors are stored split; damage inside that data or a
// forged range list must be caught by the digest and named.
TEST(MaliciousPlaneArchive, CorruptedPlaneDataIsNamed) {
  TempDir tmp;
  const PrivateKey key = PrivateKey::Generate().value();
  const fs::path dist = tmp.path() / "dist";
  const fs::path ckpt = fs::path(moedist::test_dirs::SourceDir()) / "examples/model/checkpoint";
  fs::create_directories(dist / "trunk");
  const std::string shard = "model-00003-of-00003.safetensors";
  fs::copy_file(ckpt / shard, dist / "trunk" / shard);
  DistributionSections s;
  s.release = {"planes", 1, kSampleCreated, kSampleExpires};
  s.source.family = "qwen3_moe";
  s.nodes = {{"node-0", {"trunk"}, {}}};
  ASSERT_TRUE(BuildDistribution(dist.string(), s).ok());
  ASSERT_TRUE(SignRelease(dist.string(), key).ok());
  PackageOptions po;
  po.dist_dir = dist.string();
  po.node = "node-0";
  po.out_path = (tmp.path() / "good.tar.zst").string();
  auto packaged = PackageNode(po);
  ASSERT_TRUE(packaged.ok()) << packaged.status().ToString();
  ASSERT_GT(packaged->plane_ranges, 0u);
  const Members good = ReadUstar(ZstdDecompress(ReadBytes(po.out_path)));
  const auto index = ParseArchiveIndex(good[2].data, "i").value();
  const PlaneRange first = index.byte_planes.at("trunk/" + shard).front();

  auto unpack = [&](const Members& m) {
    WriteBytes(tmp.path() / "bad.tar.zst", ZstdCompress(WriteUstar(m)));
    UnpackOptions o;
    o.archive_path = (tmp.path() / "bad.tar.zst").string();
    o.out_dir = (tmp.path() / "out").string();
    o.trusted_keys = {key.public_key()};
    auto r = UnpackNode(o);
    if (!r.ok()) {
      EXPECT_FALSE(fs::exists(o.out_dir));
    }
    return r;
  };
  const std::string expected = "member \"trunk/" + shard + "\": SHA-256 of the extracted bytes";
  const uint64_t first_chunk = std::min(first.length, kPlaneChunkBytes);
  const std::pair<const char*, std::function<void(Members&)>> defects[] = {
      {"exponent plane byte flipped", [&](Members& m) { m[3].data[first.offset + 5] ^= 0x40; }},
      {"mantissa plane byte flipped",
       [&](Members& m) { m[3].data[first.offset + first_chunk / 2 + 5] ^= 0x01; }},
      {"range list forged: planes left split",
       [&](Members& m) {
         auto forged = index;
         forged.byte_planes.erase("trunk/" + shard);
         m[2].data = SerializeArchiveIndex(forged);
       }},
  };
  for (const auto& [what, edit] : defects) {
    Members m = good;
    edit(m);
    auto r = unpack(m);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_NE(r.status().message().find(expected), std::string::npos)
        << what << ": " << r.status().message();
  }
  auto r = unpack(good);  // and the untouched members still unpack
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

}  // namespace
}  // namespace moedist::testing
