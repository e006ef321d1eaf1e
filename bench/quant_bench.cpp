// quant_bench: throughput of moedist's quantizers, dequantizers and row dot products, against a
// memcpy of the same bytes measured in the same run (style.md item 10).
//
// Build: quant/CMakeLists.txt adds the target `quant_bench` whenever this file exists:
//   cmake -S . -B build -G Ninja && ninja -C build quant_bench && build/quant/quant_bench
// Options: quant_bench [MiB of f32 input, default 64] [repetitions, default 3]
//
// Figures are GB/s of f32 input (4 bytes per value, 1 GB = 1e9 bytes) for quantize, the same
// f32-equivalent bytes for dequantize and dot (so the three are comparable with each other and
// with memcpy of the f32 bytes); best of the repetitions. Rows of 4096 values are split into two
// contiguous halves for 2 threads. All buffers are allocated and touched before timing, because
// first-touch page faults run at ~0.3 GB/s on this machine kind (design.md section 6) and would
// swamp what is measured. /proc/loadavg is printed first: a second busy process makes the
// 2-thread figures meaningless (design.md section 6).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "quant/quantize.h"

namespace {

using moedist::QuantType;

constexpr size_t kRow = 4096;

// Runs fn(row_begin, row_end) over `rows` rows on `threads` threads; returns seconds.
double TimeSplit(size_t rows, int threads, const std::function<void(size_t, size_t)>& fn) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    const size_t begin = rows * t / threads;
    const size_t end = rows * (t + 1) / threads;
    pool.emplace_back(fn, begin, end);
  }
  for (auto& th : pool) th.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double Best(int reps, const std::function<double()>& run) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) best = std::min(best, run());
  return best;
}

void Check(const moedist::Status& st) {
  if (!st.ok()) {
    std::fprintf(stderr, "quant_bench: %s\n", st.ToString().c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  const size_t rows = std::max<size_t>(2, mib * (1 << 20) / sizeof(float) / kRow);
  const size_t n = rows * kRow;
  const double gb = n * sizeof(float) / 1e9;

  std::string loadavg = "unavailable";
  std::getline(std::ifstream("/proc/loadavg"), loadavg);
  std::printf("quant_bench: %zu MiB of f32 (%zu rows of %zu), best of %d\n",
              n * sizeof(float) >> 20, rows, kRow, reps);
  std::printf("loadavg at start: %s; hardware threads: %u\n", loadavg.c_str(),
              std::thread::hardware_concurrency());

  std::vector<float> x(n);
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  for (float& v : x) v = dist(rng);
  std::vector<float> y(n, 1.0f);
  std::vector<float> act(kRow);
  for (float& v : act) v = dist(rng);
  std::vector<uint8_t> q(n * sizeof(float), 1);  // large enough for every type, touched

  double memcpy_gbs[3] = {};
  for (int threads : {1, 2}) {
    const double s = Best(reps, [&] {
      return TimeSplit(rows, threads, [&](size_t b, size_t e) {
        std::memcpy(y.data() + b * kRow, x.data() + b * kRow, (e - b) * kRow * sizeof(float));
      });
    });
    memcpy_gbs[threads] = gb / s;
    std::printf("baseline memcpy, %d thread%s: %.2f GB/s\n", threads, threads > 1 ? "s" : "",
                memcpy_gbs[threads]);
  }

  std::printf("\n%-5s %7s %16s %8s %16s %8s %12s\n", "type", "threads", "quantize GB/s", "x memcpy",
              "dequantize GB/s", "x memcpy", "dot GB/s");
  for (const QuantType type :
       {QuantType::kF16, QuantType::kBF16, QuantType::kQ8_0, QuantType::kQ4_0, QuantType::kQ2_K,
        QuantType::kQ3_K, QuantType::kQ4_K, QuantType::kQ5_K, QuantType::kQ6_K}) {
    const size_t row_bytes = moedist::QuantRowBytes(type, kRow).value();
    for (int threads : {1, 2}) {
      const double sq = Best(reps, [&] {
        return TimeSplit(rows, threads, [&](size_t b, size_t e) {
          Check(moedist::QuantizeRows(type, std::span(x).subspan(b * kRow, (e - b) * kRow), kRow,
                                      std::span(q).subspan(b * row_bytes, (e - b) * row_bytes)));
        });
      });
      const double sd = Best(reps, [&] {
        return TimeSplit(rows, threads, [&](size_t b, size_t e) {
          Check(moedist::DequantizeRow(type,
                                       std::span(q).subspan(b * row_bytes, (e - b) * row_bytes),
                                       std::span(y).subspan(b * kRow, (e - b) * kRow)));
        });
      });
      std::vector<float> sums(rows);
      const double sdot = Best(reps, [&] {
        return TimeSplit(rows, threads, [&](size_t b, size_t e) {
          for (size_t r = b; r < e; ++r) {
            sums[r] =
                moedist::DotRow(type, std::span(q).subspan(r * row_bytes, row_bytes), act).value();
          }
        });
      });
      std::printf("%-5s %7d %16.3f %8.3f %16.3f %8.3f %12.3f\n",
                  std::string(moedist::QuantTypeName(type)).c_str(), threads, gb / sq,
                  gb / sq / memcpy_gbs[threads], gb / sd, gb / sd / memcpy_gbs[threads], gb / sdot);
    }
  }
  return 0;
}
