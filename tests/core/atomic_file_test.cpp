#include "core/atomic_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/checked_math.h"
#include "core/mapped_file.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ =
        fs::temp_directory_path() / ("moedist-core-test-" + std::to_string(::getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path path() const { return path_; }
  size_t EntryCount() const {
    return std::distance(fs::directory_iterator(path_), fs::directory_iterator());
  }

 private:
  fs::path path_;
};

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST(AtomicFile, NothingAtTheFinalNameUntilCommit) {
  TempDir dir;
  const fs::path target = dir.path() / "out.bin";
  auto f = AtomicFile::Create(target.string());
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->WriteText("hello ").ok());
  ASSERT_TRUE(f->WriteText("world").ok());
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(fs::exists(f->temp_path()));
  EXPECT_EQ(f->bytes_written(), 11u);
  ASSERT_TRUE(f->Commit().ok());
  EXPECT_EQ(Slurp(target), "hello world");
  EXPECT_EQ(dir.EntryCount(), 1u);  // the temporary is gone
}

TEST(AtomicFile, StampDescribesThePublishedFile) {
  TempDir dir;
  const fs::path target = dir.path() / "out.bin";
  auto f = AtomicFile::Create(target.string());
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->stamp().known());
  ASSERT_TRUE(f->WriteText("twelve bytes").ok());
  ASSERT_TRUE(f->Commit().ok());
  ASSERT_TRUE(f->stamp().known());
  EXPECT_EQ(f->stamp().size, 12u);
  EXPECT_EQ(f->stamp(), StampPath(target.string()).value());
  // Any write afterwards changes the stamp, even one that keeps the size and the mtime.
  const auto mtime = fs::last_write_time(target);
  std::fstream(target, std::ios::in | std::ios::out | std::ios::binary) << "T";
  fs::last_write_time(target, mtime);
  EXPECT_NE(f->stamp(), StampPath(target.string()).value());
  EXPECT_EQ(StampPath((dir.path() / "absent").string()).status().code(), StatusCode::kIoError);
}

TEST(AtomicFile, AbandonedWriteLeavesPreviousContentAndNoTemporary) {
  TempDir dir;
  const fs::path target = dir.path() / "out.bin";
  ASSERT_TRUE(WriteFileAtomically(target.string(), "old").ok());
  {
    auto f = AtomicFile::Create(target.string());
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->WriteText("half-written new content").ok());
    // Destroyed without Commit(): an error path.
  }
  EXPECT_EQ(Slurp(target), "old");
  EXPECT_EQ(dir.EntryCount(), 1u);
}

TEST(AtomicFile, MissingDirectoryIsAnIoErrorNamingThePath) {
  auto f = AtomicFile::Create("/nonexistent-moedist-dir/x.bin");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kIoError);
  EXPECT_NE(f.status().message().find("/nonexistent-moedist-dir/x.bin"), std::string::npos);
}

TEST(AtomicFile, WriteAfterCommitIsRefused) {
  TempDir dir;
  auto f = AtomicFile::Create((dir.path() / "x").string());
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Commit().ok());
  EXPECT_FALSE(f->WriteText("late").ok());
}

// A file-size limit makes write() fail with EFBIG part-way, as a full disk does with ENOSPC:
// the error is returned, the temporary is removed and the previous content stays.
TEST(AtomicFile, FailedWriteMidwayRemovesTemporaryAndKeepsOldContent) {
  TempDir dir;
  const fs::path target = dir.path() / "out.bin";
  ASSERT_TRUE(WriteFileAtomically(target.string(), "previous release").ok());
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  Status st = WriteFileAtomically(target.string(), std::string(1 << 20, 'x'));
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_NE(st.message().find("write failed"), std::string::npos) << st.message();
  EXPECT_EQ(Slurp(target), "previous release");
  EXPECT_EQ(dir.EntryCount(), 1u);
}

// CopyTo streams a byte range through its buffer: the same bytes as the mapping, across the
// 4 MiB buffer boundary; a range past the end is refused, not read.
TEST(MappedFile, CopyToStreamsTheMappedBytesAndRefusesRangesPastTheEnd) {
  TempDir dir;
  std::string bytes((size_t{9} << 20) + 123, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 + (i >> 13));
  ASSERT_TRUE(WriteFileAtomically((dir.path() / "f").string(), bytes).ok());
  auto m = MappedFile::Open((dir.path() / "f").string());
  ASSERT_TRUE(m.ok());
  class StringSink final : public ByteSink {
   public:
    Status Write(std::span<const uint8_t> b) override {
      out.append(reinterpret_cast<const char*>(b.data()), b.size());
      return Status::Ok();
    }
    std::string out;
  };
  for (auto [offset, length] : {std::pair<uint64_t, uint64_t>{0, bytes.size()},
                                {7, (size_t{4} << 20) + 5},
                                {bytes.size() - 1, 1},
                                {bytes.size(), 0}}) {
    StringSink sink;
    ASSERT_TRUE((*m)->CopyTo(offset, length, sink).ok()) << offset;
    EXPECT_EQ(sink.out, bytes.substr(offset, length)) << offset << "+" << length;
  }
  StringSink sink;
  const Status past = (*m)->CopyTo(bytes.size() - 10, 11, sink);
  EXPECT_FALSE(past.ok());
  EXPECT_NE(past.message().find("beyond"), std::string::npos) << past.message();
  EXPECT_TRUE(sink.out.empty());
}

TEST(MappedFile, MapsBytesAndHandlesEmptyAndMissingFiles) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomically((dir.path() / "a").string(), "abc").ok());
  ASSERT_TRUE(WriteFileAtomically((dir.path() / "empty").string(), "").ok());
  auto a = MappedFile::Open((dir.path() / "a").string());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->size(), 3u);
  EXPECT_EQ((*a)->bytes()[2], 'c');
  auto e = MappedFile::Open((dir.path() / "empty").string());
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE((*e)->bytes().empty());
  auto m = MappedFile::Open((dir.path() / "missing").string());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  auto d = MappedFile::Open(dir.path().string());
  EXPECT_FALSE(d.ok());
}

TEST(ReadSmallFile, RefusesFilesOverTheCapBeforeReading) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomically((dir.path() / "big").string(), std::string(1000, 'x')).ok());
  auto r = ReadSmallFile((dir.path() / "big").string(), 999);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("limit"), std::string::npos);
  auto ok = ReadSmallFile((dir.path() / "big").string(), 1000);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 1000u);
}

TEST(CheckedMath, DetectsOverflow) {
  EXPECT_EQ(CheckedAdd(1, 2), 3u);
  EXPECT_FALSE(CheckedAdd(~0ull, 1).has_value());
  EXPECT_EQ(CheckedMul(1ull << 31, 1ull << 31), 1ull << 62);
  EXPECT_FALSE(CheckedMul(1ull << 32, 1ull << 32).has_value());
  const uint64_t dims[] = {1ull << 20, 1ull << 20, 1ull << 30};
  EXPECT_FALSE(CheckedProduct(dims).has_value());
  EXPECT_EQ(CheckedProduct({}), 1u);
  const uint64_t zero[] = {0, ~0ull};
  EXPECT_EQ(CheckedProduct(zero), 0u);
}

}  // namespace
}  // namespace moedist
