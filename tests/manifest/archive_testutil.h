// Helpers for node archive tests: a minimal ustar writer and reader written here from the
// POSIX layout (independent of libarchive, so the tests can build archives libarchive would
// refuse to write: empty names, devices, set-uid bits, headers that lie about sizes), and zstd
// one-shot compression with an optional forced window.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moedist::testing {

struct TarMember {
  std::string name;
  std::string data;
  char type = '0';  // '0' file, '1' hard link, '2' symlink, '3' char dev, '5' dir, '6' FIFO
  std::string link;
  uint32_t mode = 0644;
  std::optional<uint64_t> header_size;  // the size field when it should differ from data
};

// Members as ustar blocks, then the two zero blocks that end an archive.
std::string WriteUstar(const std::vector<TarMember>& members);
// Members of an uncompressed ustar archive (regular files only, as PackageNode writes them).
std::vector<TarMember> ReadUstar(std::string_view tar);

// window_log > 0 forces that window (streamed, so the frame header announces it).
std::string ZstdCompress(std::string_view bytes, int level = 3, int window_log = 0);
std::string ZstdDecompress(std::string_view bytes);

}  // namespace moedist::testing
