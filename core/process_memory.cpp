#include "core/process_memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>

namespace moedist {
namespace {

// Reads a procfs file to its end (procfs reports size 0, so stat cannot size the read).
Result<std::string> ReadProcFile(const char* path, size_t max_bytes) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("{}: cannot open: {}", path, std::strerror(errno));
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || out.size() + static_cast<size_t>(n) > max_bytes) {
      const int err = errno;
      ::close(fd);
      if (n < 0) return Status::IoError("{}: read failed: {}", path, std::strerror(err));
      if (n > 0) return Status::IoError("{}: larger than {} bytes", path, max_bytes);
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

// The value of a "Name:   123 kB" line in bytes, or nullopt when the line is absent.
Result<std::optional<uint64_t>> KbField(std::string_view text, std::string_view name,
                                        std::string_view source) {
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with(name) || line.size() <= name.size() || line[name.size()] != ':') continue;
    std::string_view v = line.substr(name.size() + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    uint64_t kb = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), kb);
    if (ec != std::errc() || std::string_view(p, v.data() + v.size() - p) != " kB" ||
        kb > (UINT64_MAX >> 10)) {
      return Status::Corruption("{}: cannot read \"{}\" (expected \"<number> kB\")", source, line);
    }
    return std::optional<uint64_t>(kb << 10);
  }
  return std::optional<uint64_t>();
}

}  // namespace

Result<ProcessMemory> ParseProcessStatus(std::string_view text, std::string_view source) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> rss, KbField(text, "VmRSS", source));
  ASSIGN_OR_RETURN(std::optional<uint64_t> hwm, KbField(text, "VmHWM", source));
  if (!rss || !hwm) return Status::IoError("{}: no VmRSS / VmHWM lines", source);
  return ProcessMemory{*rss, *hwm};
}

Result<ProcessMemory> ReadProcessMemory() {
  static constexpr char kPath[] = "/proc/self/status";
  ASSIGN_OR_RETURN(std::string text, ReadProcFile(kPath, 1 << 20));
  return ParseProcessStatus(text, kPath);
}

}  // namespace moedist
