// archive_bench: throughput of PackageNode and UnpackNode (what `moedist package` and
// `moedist unpack` call) on a checkpoint directory, for bench/release_bench.sh, which times
// `tar | zstd` and `zstd -d | tar -x` on the same files in the same run.
//
// The checkpoint's files are hard-linked into WORK/dist/trunk/ (no copy), described and signed
// as a one-node release (BuildDistribution, SignRelease); then, for each level, the node is
// packaged (planes auto and never) and the first archive unpacked. Page caches are warmed by a
// first hashing pass (BuildDistribution reads every byte).
// Usage: archive_bench CKPT WORK [LEVEL...]   (default levels: 1 3)
// Output, one line per run: "<what> <wall s> <CPU s, all threads> <input bytes> <archive bytes>".
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "manifest/build_distribution.h"
#include "manifest/node_archive.h"
#include "manifest/release_signing.h"

namespace fs = std::filesystem;
using namespace moedist;

namespace {

[[noreturn]] void Die(const Status& st) {
  std::fprintf(stderr, "archive_bench: %s\n", st.ToString().c_str());
  std::exit(1);
}

Status MakeRelease(const fs::path& ckpt, const fs::path& dist, const PrivateKey& key) {
  std::error_code ec;
  fs::remove_all(dist, ec);
  fs::create_directories(dist / "trunk");
  for (const auto& e : fs::directory_iterator(ckpt)) {
    if (!e.is_regular_file()) continue;
    fs::create_hard_link(e.path(), dist / "trunk" / e.path().filename(), ec);
    if (ec) return Status::IoError("{}: cannot hard-link: {}", e.path().string(), ec.message());
  }
  DistributionSections s;
  s.release = {"bench", 1, "2026-01-01T00:00:00Z", "2036-01-01T00:00:00Z"};
  s.source.family = "qwen3_moe";
  s.nodes = {{"node-0", {"trunk"}, {}}};
  auto d = BuildDistribution(dist.string(), s);
  if (!d.ok()) return d.status();
  return SignRelease(dist.string(), key).status();
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// User + system CPU seconds of the process so far (every thread, zstd's workers included).
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: archive_bench CKPT WORK [LEVEL...]\n");
    return 2;
  }
  const fs::path ckpt = argv[1], work = argv[2];
  std::vector<int> levels;
  for (int i = 3; i < argc; ++i) levels.push_back(std::atoi(argv[i]));
  if (levels.empty()) levels = {1, 3};
  auto key = PrivateKey::Generate();
  if (!key.ok()) Die(key.status());
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each line as soon as it is measured
  const fs::path dist = work / "dist";
  if (Status st = MakeRelease(ckpt, dist, *key); !st.ok()) Die(st);

  for (int level : levels) {
    for (auto [mode, name] : {std::pair{PlaneChoiceOptions::kAuto, "auto"},
                              std::pair{PlaneChoiceOptions::kNever, "never"}}) {
      PackageOptions o;
      o.dist_dir = dist.string();
      o.node = "node-0";
      o.level = level;
      o.planes = mode;
      o.out_path = (work / ("node-" + std::to_string(level) + "-" + name + ".tar.zst")).string();
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = CpuSeconds();
      auto r = PackageNode(o);
      if (!r.ok()) Die(r.status());
      std::printf("package-%d-%s %.3f %.3f %llu %llu\n", level, name, Seconds(t0),
                  CpuSeconds() - c0, static_cast<unsigned long long>(r->file_bytes),
                  static_cast<unsigned long long>(r->archive_bytes));
      if (mode != PlaneChoiceOptions::kAuto) {
        fs::remove(o.out_path);
        continue;
      }
      UnpackOptions u;
      u.archive_path = o.out_path;
      u.out_dir = (work / "unpacked").string();
      u.trusted_keys = {key->public_key()};
      std::error_code ec;
      fs::remove_all(u.out_dir, ec);
      const auto t1 = std::chrono::steady_clock::now();
      const double c1 = CpuSeconds();
      auto ur = UnpackNode(u);
      if (!ur.ok()) Die(ur.status());
      std::printf("unpack-%d-auto %.3f %.3f %llu %llu\n", level, Seconds(t1), CpuSeconds() - c1,
                  static_cast<unsigned long long>(ur->bytes),
                  static_cast<unsigned long long>(ur->archive_bytes));
      fs::remove_all(u.out_dir, ec);
      fs::remove(o.out_path);
    }
  }
  return 0;
}
