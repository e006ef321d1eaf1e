// FileStamp: what stat(2) says identifies one version of a file — device, inode, size, and the
// modification and status-change times in nanoseconds. Used only inside one run to reuse a
// digest moedist itself computed moments earlier (the bytes pack hashed while writing a shard,
// the source files it hashed before reading them): any write, truncate, rename over or
// utimensat() after the stamp changes ctime, which no unprivileged process can set back.
// Between runs digests decide (reliability row 35: never trust size or mtime). Limit: the
// kernel sets ctime from a coarse clock (one tick, 1–4 ms), so a same-size rewrite within the
// tick that stamped the file goes unseen; pack holds its lock on the outputs and the source is
// a finished checkpoint, so that window only matters against a deliberate racing writer.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "core/status.h"

namespace moedist {

struct FileStamp {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  bool known() const { return inode != 0; }
  bool operator==(const FileStamp&) const = default;
};

FileStamp StampOf(const struct stat& st);
// stat(2) of `path` (symbolic links are not followed).
Result<FileStamp> StampPath(const std::string& path);

}  // namespace moedist
