// Helpers shared by the fuzz targets: a per-process scratch directory for parsers that only read
// a path (the input is written there before each run), and a crash that says which promise of
// an accepted input broke. Header-only so each target links only the libraries it exercises.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace moedist::fuzz {

// <tmp>/moedist-fuzz-<name>-<pid>, created on first use. libFuzzer ends with _Exit (no atexit
// handlers), so instead of cleaning up at exit each process removes the directories of earlier
// processes of the same target that no longer run; a crashed run's files stay until then.
inline const std::filesystem::path& ScratchDir(std::string_view name) {
  static const std::filesystem::path dir = [&] {
    namespace fs = std::filesystem;
    const std::string prefix = "moedist-fuzz-" + std::string(name) + "-";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path(), ec)) {
      const std::string leaf = e.path().filename().string();
      if (leaf.rfind(prefix, 0) != 0) continue;
      const long pid = std::strtol(leaf.c_str() + prefix.size(), nullptr, 10);
      if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        fs::remove_all(e.path(), ec);
      }
    }
    auto p = fs::temp_directory_path() / (prefix + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
  }();
  return dir;
}

inline void WriteFile(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.good()) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", p.c_str());
    std::abort();
  }
}

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// An accepted input broke a promise: print why and abort, so libFuzzer keeps the input.
[[noreturn]] inline void Fail(std::string_view why) {
  std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(why.size()), why.data());
  std::abort();
}

}  // namespace moedist::fuzz
