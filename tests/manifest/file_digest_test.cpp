// SHA-256: known-answer vectors, streaming and sink forms agree, caps, parallel hashing, and
// opening beneath a root without following symlinks.
#include "manifest/file_digest.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "tests/manifest/manifest_testutil.h"

namespace moedist {
namespace {

using namespace moedist::testing;

constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kMillionA =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(Sha256Hex(std::string_view("")).value(), kEmpty);
  EXPECT_EQ(Sha256Hex(std::string_view("abc")).value(), kAbc);
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')).value(), kMillionA);
}

TEST(Sha256, IncrementalEqualsOneShotAndResetsAfterFinish) {
  Sha256 h;
  const std::string a(1000000, 'a');
  for (size_t i = 0; i < a.size(); i += 999) {
    const size_t n = std::min<size_t>(999, a.size() - i);
    ASSERT_TRUE(h.Update({reinterpret_cast<const uint8_t*>(a.data()) + i, n}).ok());
  }
  EXPECT_EQ(HexEncode(h.Finish().value()), kMillionA);
  ASSERT_TRUE(h.Update({reinterpret_cast<const uint8_t*>("abc"), 3}).ok());
  EXPECT_EQ(HexEncode(h.Finish().value()), kAbc);
  EXPECT_EQ(HexEncode(h.Finish().value()), kEmpty);
}

TEST(HashingSink, HashesCountsAndForwardsWhatAWriterWrites) {
  TempDir dir;
  const fs::path p = dir.path() / "out.bin";
  auto file = AtomicFile::Create(p.string());
  ASSERT_TRUE(file.ok());
  HashingSink sink(&*file);
  ASSERT_TRUE(sink.WriteText("ab").ok());
  ASSERT_TRUE(sink.WriteText("c").ok());
  ASSERT_TRUE(file->Commit().ok());
  EXPECT_EQ(sink.bytes_written(), 3u);
  EXPECT_EQ(sink.FinishHex().value(), kAbc);
  // The manifest entry made while writing equals the digest of the file read back.
  EXPECT_EQ(DigestFile(p.string()).value().sha256, kAbc);
}

TEST(DigestFile, ReadAndMmapAgreeOnSizesAroundTheBuffer) {
  TempDir dir;
  for (size_t n : {0ul, 1ul, 4095ul, 4096ul, 4097ul, 3ul * 4096 + 5}) {
    std::string bytes(n, '\0');
    for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>(i * 31 + 7);
    const fs::path p = dir.path() / ("f" + std::to_string(n));
    WriteBytes(p, bytes);
    const std::string want = Sha256Hex(bytes).value();
    DigestOptions read{DigestReadMethod::kRead, 4096};
    DigestOptions mmap{DigestReadMethod::kMmap, 4096};
    auto a = DigestFile(p.string(), read);
    auto b = DigestFile(p.string(), mmap);
    ASSERT_TRUE(a.ok() && b.ok()) << n;
    EXPECT_EQ(a->sha256, want) << n;
    EXPECT_EQ(b->sha256, want) << n;
    EXPECT_EQ(a->size, n);
  }
}

// O_DIRECT reads go 8 MiB at a time with the next chunk read ahead: sizes around those chunks,
// and an empty and an unaligned file. Where the file system refuses O_DIRECT the method falls
// back to read(); the digest must be right either way.
TEST(DigestFile, DirectReadsAgreeAroundTheChunkBoundaries) {
  TempDir dir;
  constexpr size_t kChunk = size_t{8} << 20;
  std::string bytes(2 * kChunk + 4097, '\0');
  uint32_t x = 12345;
  for (char& c : bytes) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 24);
  for (size_t n : {size_t{0}, size_t{1}, size_t{4096}, size_t{5000}, kChunk - 1, kChunk, kChunk + 1,
                   2 * kChunk, 2 * kChunk + 4097}) {
    const fs::path p = dir.path() / ("f" + std::to_string(n));
    WriteBytes(p, bytes.substr(0, n));
    DigestOptions direct;
    direct.method = DigestReadMethod::kDirect;
    direct.direct_min_bytes = 0;
    auto d = DigestFile(p.string(), direct);
    ASSERT_TRUE(d.ok()) << n << ": " << d.status().ToString();
    EXPECT_EQ(d->sha256, Sha256Hex(std::string_view(bytes).substr(0, n)).value()) << n;
    EXPECT_EQ(d->size, n);
    // The cap is enforced as with read().
    if (n > 1) {
      EXPECT_EQ(DigestFile(p.string(), direct, n - 1).status().code(), StatusCode::kCorruption);
    }
  }
  // The descriptor's flags are restored: a buffered read of the same descriptor still works.
  const fs::path p = dir.path() / "f5000";
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  std::vector<uint8_t> buffer;
  DigestOptions direct;
  direct.method = DigestReadMethod::kDirect;
  direct.direct_min_bytes = 0;
  ASSERT_TRUE(DigestFd(fd.get(), "f5000", UINT64_MAX, direct, &buffer).ok());
  EXPECT_EQ(::fcntl(fd.get(), F_GETFL) & O_DIRECT, 0);
}

TEST(DigestFile, FileLargerThanItsCapIsRefusedWithoutReading) {
  TempDir dir;
  WriteBytes(dir.path() / "f", std::string(100, 'x'));
  auto d = DigestFile((dir.path() / "f").string(), {}, 99);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kCorruption);
  EXPECT_NE(d.status().message().find("not read"), std::string::npos);
}

TEST(DigestFiles, ParallelResultsMatchSerialAndKeepJobOrder) {
  TempDir dir;
  std::vector<DigestJob> jobs;
  std::vector<std::string> want;
  for (int i = 0; i < 20; ++i) {
    std::string bytes(static_cast<size_t>(i) * 1000 + 1, static_cast<char>('a' + i));
    WriteBytes(dir.path() / "d" / ("f" + std::to_string(i)), bytes);
    jobs.push_back({dir.str(), "d/f" + std::to_string(i), UINT64_MAX, bytes.size()});
    want.push_back(Sha256Hex(bytes).value());
  }
  jobs.push_back({dir.str(), "d/missing"});
  for (int threads : {1, 2, 7}) {
    auto got = DigestFiles(jobs, threads);
    ASSERT_EQ(got.size(), jobs.size());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_TRUE(got[i].ok()) << got[i].status().ToString();
      EXPECT_EQ(got[i]->sha256, want[i]) << "job " << i << " threads " << threads;
    }
    EXPECT_EQ(got.back().status().code(), StatusCode::kNotFound);
  }
}

// pack hands the digests it took while writing to the manifest builder: a file whose stamp is
// unchanged is not read again; one changed since (even with its mtime set back) is re-hashed.
TEST(DigestFiles, KnownDigestReusedOnlyWhileTheStampMatches) {
  TempDir dir;
  const fs::path file = dir.path() / "shard.bin";
  WriteBytes(file, std::string(5000, 'k'));
  const FileDigest real = DigestFile(file.string()).value();
  ASSERT_TRUE(real.stamp.known());
  EXPECT_EQ(real.stamp, StampPath(file.string()).value());
  // A deliberately wrong digest with the right stamp comes back as it is: proof nothing was read.
  FileDigest known = real;
  known.sha256 = std::string(64, '0');
  DigestJob job{dir.str(), "shard.bin"};
  job.known = &known;
  auto got = DigestFiles({job}, 1);
  ASSERT_TRUE(got[0].ok()) << got[0].status().ToString();
  EXPECT_EQ(got[0]->sha256, known.sha256);

  const auto mtime = fs::last_write_time(file);
  FlipBit(file, 777);
  fs::last_write_time(file, mtime);
  got = DigestFiles({job}, 1);
  ASSERT_TRUE(got[0].ok());
  EXPECT_NE(got[0]->sha256, known.sha256);
  EXPECT_NE(got[0]->sha256, real.sha256);
  EXPECT_EQ(got[0]->sha256, DigestFile(file.string())->sha256);
}

TEST(OpenRegularFileBeneath, RefusesSymlinksAnywhereAndSpecialFiles) {
  TempDir dir;
  WriteBytes(dir.path() / "real/f", "x");
  WriteBytes(dir.path() / "outside", "secret");
  fs::create_directory_symlink(dir.path() / "real", dir.path() / "linkdir");
  fs::create_symlink(dir.path() / "outside", dir.path() / "real/link");
  ASSERT_EQ(::mkfifo((dir.path() / "real/fifo").c_str(), 0600), 0);

  EXPECT_TRUE(OpenRegularFileBeneath(dir.str(), "real/f").ok());
  auto via_dir = OpenRegularFileBeneath(dir.str(), "linkdir/f");
  EXPECT_EQ(via_dir.status().code(), StatusCode::kCorruption) << via_dir.status().ToString();
  auto link = OpenRegularFileBeneath(dir.str(), "real/link");
  EXPECT_EQ(link.status().code(), StatusCode::kCorruption);
  EXPECT_NE(link.status().message().find("symbolic link"), std::string::npos);
  auto fifo = OpenRegularFileBeneath(dir.str(), "real/fifo");  // must not block
  EXPECT_EQ(fifo.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(OpenRegularFileBeneath(dir.str(), "real/none").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(OpenRegularFileBeneath(dir.str(), "real").status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace moedist
