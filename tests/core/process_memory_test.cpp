#include "core/process_memory.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "core/mapped_file.h"

namespace moedist {
namespace {

TEST(ProcessMemory, ParsesStatusText) {
  auto m =
      ParseProcessStatus("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t    1024 kB\nThreads: 1\n", "s");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->rss_bytes, 1024u << 10);
  EXPECT_EQ(m->peak_bytes, 2048u << 10);
  EXPECT_FALSE(ParseProcessStatus("VmRSS:\t1024 kB\n", "s").ok());                // no VmHWM
  EXPECT_FALSE(ParseProcessStatus("VmRSS:\t1024 MB\nVmHWM:\t1 kB\n", "s").ok());  // unit
  EXPECT_FALSE(ParseProcessStatus("VmRSS:\tlots kB\nVmHWM:\t1 kB\n", "s").ok());
  EXPECT_FALSE(ParseProcessStatus("VmRSSX:\t1 kB\nVmHWM:\t1 kB\n", "s").ok());
}

TEST(ProcessMemory, ReadsThisProcess) {
  auto m = ReadProcessMemory();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_GT(m->rss_bytes, 0u);
  EXPECT_GE(m->peak_bytes, m->rss_bytes);
}

// Touching a mapped file's pages adds them to the resident set; ReleaseRange takes them out.
TEST(ProcessMemory, ReleasedMappedPagesLeaveTheResidentSet) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("moedist-release-" + std::to_string(::getpid())))
          .string();
  constexpr size_t kBytes = 32 << 20;
  {
    std::vector<char> data(kBytes, 1);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fd);
  }
  auto file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok());
  auto before = ReadProcessMemory();
  ASSERT_TRUE(before.ok());
  uint64_t sum = 0;
  for (size_t i = 0; i < kBytes; i += 4096) sum += (*file)->bytes()[i];
  EXPECT_EQ(sum, kBytes / 4096);
  auto touched = ReadProcessMemory();
  ASSERT_TRUE(touched.ok());
  EXPECT_GE(touched->rss_bytes, before->rss_bytes + kBytes * 3 / 4);
  (*file)->ReleaseRange(0, kBytes);
  auto released = ReadProcessMemory();
  ASSERT_TRUE(released.ok());
  EXPECT_LE(released->rss_bytes + kBytes * 3 / 4, touched->rss_bytes);
  // The kernel updates VmHWM lazily (per-CPU RSS counters are folded in at intervals), so the
  // peak may lag the resident size by a few pages; 1 MiB of slack, against 32 MiB touched.
  EXPECT_GE(released->peak_bytes + (1 << 20), touched->rss_bytes);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace moedist
