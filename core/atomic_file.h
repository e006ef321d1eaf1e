// AtomicFile: writes an output under a temporary name in the destination directory and
// publishes it with fsync(file) → rename → fsync(directory), so a reader sees either the old
// file, or the whole new one, never a prefix (reliability row 5, rows 30–33). If Commit() is
// not reached (error, exception, early return) the destructor unlinks the temporary file.
// An fsync failure is returned as an error and never retried. Not thread-safe: one writer
// per object.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/byte_sink.h"
#include "core/file_stamp.h"
#include "core/status.h"

namespace moedist {

class AtomicFile final : public ByteSink {
 public:
  // Creates "<dir>/.<name>.tmp.<pid>.<n>" next to `final_path`.
  static Result<AtomicFile> Create(const std::string& final_path);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile() override;

  Status Write(std::span<const uint8_t> bytes) override;
  uint64_t bytes_written() const { return written_; }
  const std::string& temp_path() const { return temp_path_; }
  const std::string& final_path() const { return final_path_; }

  // Flushes, fsyncs, renames into place and fsyncs the directory.
  Status Commit();
  // The published file's stamp, taken after the rename (rename changes ctime on ext4); unknown
  // before Commit() succeeds.
  const FileStamp& stamp() const { return stamp_; }

 private:
  AtomicFile(std::string final_path, std::string temp_path, int fd)
      : final_path_(std::move(final_path)), temp_path_(std::move(temp_path)), fd_(fd) {}
  void Abandon();

  std::string final_path_;
  std::string temp_path_;
  int fd_ = -1;
  uint64_t written_ = 0;
  FileStamp stamp_;
};

// fsync of a directory, so a rename, link or unlink in it is durable. An error is returned, never
// retried (a failed fsync may have dropped the dirty pages it reports on).
Status SyncDirectory(const std::string& dir);

// Convenience: the whole content at once.
Status WriteFileAtomically(const std::string& final_path, std::string_view content);

}  // namespace moedist
