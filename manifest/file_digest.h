// SHA-256 of byte streams and files through OpenSSL's EVP interface (SHA-NI / AVX2 code paths
// where the CPU has them), for the digests in distribution.json.
//
//   Sha256        incremental hasher (one per thread; not thread-safe).
//   HashingSink   a ByteSink that hashes and counts what passes through and forwards it, so a
//                 writer produces a file and its manifest entry in one pass.
//   DigestFile    one file, streamed with O_DIRECT reads on a second thread or read() through
//                 a caller-owned reusable buffer (DigestReadMethod below); a file longer than
//                 its cap is refused by size before reading, and reading stops at the cap if it
//                 grows meanwhile (reliability row 20).
//   DigestFiles   many files on N threads, largest first, one buffer per thread.
//
// Files inside a release are opened with OpenRegularFileBeneath: every component relative to
// the release root is opened with O_NOFOLLOW, so a symlink anywhere below the root (a file or a
// directory) is refused instead of followed, and FIFOs or devices are refused without blocking.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_sink.h"
#include "core/file_stamp.h"
#include "core/status.h"

namespace moedist {

using Sha256Digest = std::array<uint8_t, 32>;

std::string HexEncode(std::span<const uint8_t> bytes);

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) = delete;
  Sha256(const Sha256&) = delete;

  Status Update(std::span<const uint8_t> bytes);
  // Finishes and resets, so the object can hash the next stream.
  Result<Sha256Digest> Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Result<std::string> Sha256Hex(std::span<const uint8_t> bytes);
inline Result<std::string> Sha256Hex(std::string_view text) {
  return Sha256Hex(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

// Hashes and counts every byte, then forwards it to `next` (if not null).
class HashingSink final : public ByteSink {
 public:
  explicit HashingSink(ByteSink* next = nullptr) : next_(next) {}
  Status Write(std::span<const uint8_t> bytes) override;
  uint64_t bytes_written() const { return count_; }
  // The lower-case hex digest of everything written so far; resets the hash.
  Result<std::string> FinishHex();

 private:
  ByteSink* next_;
  Sha256 hash_;
  uint64_t count_ = 0;
};

// A file descriptor closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// Opens `root`/`relative` read-only without following symlinks below `root`; refuses anything
// but a regular file. NotFound when a component is absent, Corruption for a symlink or a special
// file, IoError otherwise. `relative` must already satisfy CheckReleasePath.
Result<UniqueFd> OpenRegularFileBeneath(const std::string& root, std::string_view relative);

// kRead: pread() into a reused buffer. kDirect: O_DIRECT reads on a second thread, hashed as
// they arrive (no page-cache copy; falls back to kRead where the file system refuses O_DIRECT).
// kMmap: map the file (SIGBUS if it is truncated meanwhile; slowest here, kept for comparison).
// kAuto: kDirect, except that a file already in the page cache is read() when several files
// are hashed at once — one thread is CPU-bound and the page-cache copy is its largest cost after
// SHA-256 itself, while several threads are bound by the device, which the cache spares
// (docs/benchmarks.md has the figures).
enum class DigestReadMethod { kRead, kDirect, kMmap, kAuto };

struct DigestOptions {
  DigestReadMethod method = DigestReadMethod::kAuto;
  int concurrent_files = 1;  // files hashed at once (DigestFiles sets it); kAuto uses it
  size_t buffer_bytes = 1u << 20;
  // kDirect reads files at least this large; smaller ones (an index, a config) are read(): the
  // page cache serves them without a device round trip.
  uint64_t direct_min_bytes = uint64_t{1} << 20;
};

struct FileDigest {
  uint64_t size = 0;
  std::string sha256;  // lower-case hex
  FileStamp stamp;     // the file as it was when hashed (core/file_stamp.h)
};

// Hashes an open regular file from offset 0. `name` is used in errors. A file larger than
// `max_bytes` is refused before reading; one that grows past it while being read is refused
// when the cap is reached. `buffer` is resized to options.buffer_bytes and reused.
Result<FileDigest> DigestFd(int fd, std::string_view name, uint64_t max_bytes,
                            const DigestOptions& options, std::vector<uint8_t>* buffer);
Result<FileDigest> DigestFile(const std::string& path, const DigestOptions& options = {},
                              uint64_t max_bytes = std::numeric_limits<uint64_t>::max());

struct DigestJob {
  std::string root;      // directory the path is relative to (opened beneath, see above)
  std::string relative;  // '/'-separated path below root
  uint64_t max_bytes = std::numeric_limits<uint64_t>::max();
  uint64_t size_hint = 0;  // for scheduling: largest jobs start first
  // A digest this run took earlier (pack hashes each shard while writing it). When the opened
  // file's stamp equals known->stamp the file is not read again and *known is the result.
  const FileDigest* known = nullptr;
};

// One result per job, in job order. threads <= 0 means one per hardware thread.
std::vector<Result<FileDigest>> DigestFiles(const std::vector<DigestJob>& jobs, int threads,
                                            const DigestOptions& options = {});

}  // namespace moedist
