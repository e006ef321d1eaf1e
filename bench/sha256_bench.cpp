// sha256_bench: SHA-256 throughput of moedist's file hashing (manifest/file_digest.h).
//   sha256_bench FILE [--method auto|read|direct|mmap] [--repeat N]       one file, best of N
//   sha256_bench --threads T FILE...                          many files on T threads
// Prints "<label> <seconds> <bytes> <GB/s> <digest-of-first-file>" per measurement, for
// bench/sha256_bench.sh, which runs openssl dgst and sha256sum on the same files beside it.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "manifest/file_digest.h"

int main(int argc, char** argv) {
  using namespace moedist;
  std::vector<std::string> files;
  DigestOptions options;
  int threads = 0;  // 0: single-file mode
  int repeat = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--method" && i + 1 < argc) {
      const char* m = argv[++i];
      options.method = std::strcmp(m, "mmap") == 0     ? DigestReadMethod::kMmap
                       : std::strcmp(m, "direct") == 0 ? DigestReadMethod::kDirect
                       : std::strcmp(m, "auto") == 0   ? DigestReadMethod::kAuto
                                                       : DigestReadMethod::kRead;
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::atoi(argv[++i]);
    } else if (a == "--buffer" && i + 1 < argc) {
      options.buffer_bytes = static_cast<size_t>(std::atoll(argv[++i]));
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr,
                 "usage: sha256_bench FILE... [--method auto|read|direct|mmap] [--threads T] "
                 "[--repeat N] [--buffer BYTES]\n");
    return 2;
  }
  std::vector<DigestJob> jobs;
  uint64_t total = 0;
  for (const std::string& f : files) {
    std::filesystem::path p = std::filesystem::absolute(f);
    const uint64_t size = std::filesystem::file_size(p);
    jobs.push_back({p.parent_path().string(), p.filename().string(), UINT64_MAX, size});
    total += size;
  }
  const std::string label =
      threads > 0
          ? "moedist-" + std::to_string(threads) + "-threads"
          : std::string("moedist-") + (options.method == DigestReadMethod::kMmap     ? "mmap"
                                       : options.method == DigestReadMethod::kDirect ? "direct"
                                       : options.method == DigestReadMethod::kAuto   ? "auto"
                                                                                     : "read");
  double best = 1e30;
  std::string digest;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto results = DigestFiles(jobs, threads > 0 ? threads : 1, options);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const auto& res : results) {
      if (!res.ok()) {
        std::fprintf(stderr, "%s\n", res.status().ToString().c_str());
        return 1;
      }
    }
    digest = results[0]->sha256;
    best = std::min(best, s);
  }
  std::printf("%s %.4f %llu %.3f %s\n", label.c_str(), best, static_cast<unsigned long long>(total),
              total / best / 1e9, digest.c_str());
  return 0;
}
