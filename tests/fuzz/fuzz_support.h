// Helpers shared by the fuzz targets: a per-process scratch directory for parsers that only read
// a path (the input is written there before each run), and a crash that says which promise of
// an accepted input broke. Header-only so each target links only the libraries it exercises.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace moedist::fuzz {

// <tmp>/moedist-fuzz-<name>-<pid>, created on first use and removed when the process exits
// normally (libFuzzer exits through exit() at -max_total_time; a crash leaves it for inspection).
inline const std::filesystem::path& ScratchDir(std::string_view name) {
  static const std::filesystem::path dir = [&] {
    auto p = std::filesystem::temp_directory_path() /
             ("moedist-fuzz-" + std::string(name) + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(p);
    std::atexit([] { std::filesystem::remove_all(ScratchDir("")); });
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
