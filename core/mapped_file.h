// MappedFile: a read-only, whole-file memory map. Tensor views point into it and hold a
// shared_ptr so the mapping lives as long as any view. Pages are faulted in on demand, so
// mapping a 100 GB checkpoint costs address space, not memory. Thread safety: immutable after
// Open(); safe to read from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/byte_sink.h"
#include "core/status.h"

namespace moedist {

class MappedFile {
 public:
  // Maps `path` read-only. An empty file maps to an empty span.
  static Result<std::shared_ptr<const MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, static_cast<size_t>(size_)}; }

  // Hints that [offset, offset+length) will be read sequentially soon / is no longer needed, so
  // streaming passes keep resident memory bounded.
  void AdviseSequential(uint64_t offset, uint64_t length) const;
  void AdviseDontNeed(uint64_t offset, uint64_t length) const;
  // Maps [offset, offset+length) in one call (MADV_POPULATE_READ, Linux 5.14+; a no-op before)
  // before a pass over it: one page fault per 4 KiB costs as much as hashing the page.
  void Prefetch(uint64_t offset, uint64_t length) const;
  // Releases [offset, offset+length) after its last use: drops the pages from this process
  // (madvise DONTNEED, so they stop counting in its resident set) and asks the kernel to drop
  // them from the page cache (posix_fadvise DONTNEED on the file). Advice only: later reads
  // fault the bytes back in from the file.
  void ReleaseRange(uint64_t offset, uint64_t length) const;

  // Streams [offset, offset+length) to `sink` through pread() into a per-thread 4 MiB buffer.
  // For copying bytes unchanged into another file: write() from the mapping itself faults the
  // pages in under the copy, 3.5 CPU-seconds per GiB on the VMs measured (docs/benchmarks.md),
  // against 0.4 through a buffer. The bytes are those of the mapped file (same descriptor).
  Status CopyTo(uint64_t offset, uint64_t length, ByteSink& sink) const;

 private:
  MappedFile(std::string path, const uint8_t* data, uint64_t size, int fd)
      : path_(std::move(path)), data_(data), size_(size), fd_(fd) {}
  std::string path_;
  const uint8_t* data_;
  uint64_t size_;
  int fd_;  // kept open for CopyTo; one per mapped file
};

// Reads a whole small file (config.json, index.json) into a string, refusing files larger than
// `max_bytes` before reading them.
Result<std::string> ReadSmallFile(const std::string& path, uint64_t max_bytes);

}  // namespace moedist
