// runtime_bench: prefill and decode speed of runtime-min on a synthetic Qwen3-MoE checkpoint of
// realistic width, beside the machine's own sgemm GFLOP/s measured in the same run (the
// baseline the prefill figure is a fraction of) and the load average (a busy machine halves
// two-thread numbers; design.md §6).
//
//   runtime_bench [--prompt N] [--decode N] [--keep DIR] [--small]
//
// The checkpoint (hidden 2048, 4 layers, 48 experts of width 768, top-8, 32 heads / 4 KV heads
// of 128, vocab 8192, bf16 random weights: about 2 GB) is written to a temporary directory and
// removed afterwards, unless --keep names a directory to write once and reuse.
#include <cblas.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench/synthetic_checkpoint.h"
#include "runtime-min/forward.h"
#include "runtime-min/model.h"
#include "runtime-min/sampler.h"
#include "runtime-min/thread_pool.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string LoadAvg() {
  std::ifstream in("/proc/loadavg");
  std::string line;
  std::getline(in, line);
  return line;
}

// f32 sgemm of n×n×n, best of a few runs: the machine's attainable dense GFLOP/s.
double SgemmGflops(int n) {
  std::vector<float> a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  for (float& v : a) v = d(rng);
  for (float& v : b) v = d(rng);
  double best = 0;
  for (int rep = 0; rep < 4; ++rep) {
    auto t = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a.data(), n, b.data(), n,
                0.0f, c.data(), n);
    best = std::max(best, 2.0 * n * n * n / Since(t) / 1e9);
  }
  return best;
}

int Main(int argc, char** argv) {
  int prompt = 128, decode = 32;
  bool small = false;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--prompt" && i + 1 < argc)
      prompt = std::atoi(argv[++i]);
    else if (a == "--decode" && i + 1 < argc)
      decode = std::atoi(argv[++i]);
    else if (a == "--keep" && i + 1 < argc)
      keep = argv[++i];
    else if (a == "--small")
      small = true;
    else {
      std::fprintf(stderr,
                   "usage: runtime_bench [--prompt N] [--decode N] [--keep DIR] [--small]\n");
      return 2;
    }
  }
  SyntheticCheckpointSpec spec;
  spec.layers = 4;
  spec.hidden = 2048;
  spec.experts = 48;
  spec.top_k = 8;
  spec.moe_intermediate = 768;
  spec.heads = 32;
  spec.kv_heads = 4;
  spec.head_dim = 128;
  spec.vocab = 8192;
  if (small) {  // a quick smoke run of the same shape family
    spec.hidden = 256;
    spec.moe_intermediate = 128;
    spec.heads = 4;
    spec.kv_heads = 2;
    spec.head_dim = 64;
    spec.vocab = 1024;
  }
  const bool temp = keep.empty();
  const fs::path dir =
      temp ? fs::temp_directory_path() / ("moedist_runtime_bench_" + std::to_string(::getpid()))
           : fs::path(keep);
  std::printf("load before: %s\n", LoadAvg().c_str());
  if (temp || !fs::exists(dir / "config.json")) {
    auto t = Clock::now();
    Status st = WriteSyntheticCheckpoint(spec, dir.string());
    if (!st.ok()) {
      std::fprintf(stderr, "runtime_bench: %s\n", st.ToString().c_str());
      return 1;
    }
    std::printf("wrote synthetic checkpoint to %s in %.1f s\n", dir.c_str(), Since(t));
  }
  int rc = 0;
  {
    auto model = Model::Open(dir.string());
    if (!model.ok()) {
      std::fprintf(stderr, "runtime_bench: %s\n", model.status().ToString().c_str());
      rc = 1;
    } else {
      const ModelConfig& c = (*model)->config();
      const double h = c.hidden_size, i = c.moe_intermediate_size, v = c.vocab_size;
      const double q = double(c.attention.num_heads) * c.attention.head_dim;
      const double kv = double(c.attention.num_kv_heads) * c.attention.head_dim;
      // Weights each token multiplies by: attention, router, top-k experts, lm_head.
      const double active = c.num_layers * (h * (2 * q + 2 * kv) + h * c.routing.num_experts +
                                            c.routing.top_k * 3 * h * i) +
                            v * h;
      const double sgemm = SgemmGflops(2048);
      std::printf("threads %d; sgemm 2048^3: %.1f GFLOP/s\n", DefaultThreadPool().size(), sgemm);

      std::mt19937 rng(3);
      std::vector<int32_t> ids(prompt);
      for (int32_t& id : ids) id = static_cast<int32_t>(rng() % c.vocab_size);
      ForwardOptions fo;
      fo.all_logits = false;
      std::vector<float> logits;
      // Warm-up: fault the mapping in once, so both figures measure compute, not page-ins.
      {
        Sequence warm(**model);
        (void)Forward(**model, warm, std::span(ids).first(std::min(prompt, 16)), fo, &logits);
      }
      Sequence seq(**model);
      auto t = Clock::now();
      Status st = Forward(**model, seq, ids, fo, &logits);
      const double prefill_s = Since(t);
      Sampler greedy({});
      t = Clock::now();
      for (int k = 0; st.ok() && k < decode; ++k) {
        const int32_t next = greedy.Sample(logits.data(), c.vocab_size);
        st = Forward(**model, seq, std::span<const int32_t>(&next, 1), fo, &logits);
      }
      const double decode_s = Since(t);
      if (!st.ok()) {
        std::fprintf(stderr, "runtime_bench: %s\n", st.ToString().c_str());
        rc = 1;
      } else {
        const double prefill_gflops = 2 * active * prompt / prefill_s / 1e9;
        std::printf("active weights per token: %.0f M (%.0f MB bf16)\n", active / 1e6,
                    active * 2 / 1e6);
        std::printf("prefill: %d tokens in %.3f s = %.1f tok/s (%.1f GFLOP/s, %.0f%% of sgemm)\n",
                    prompt, prefill_s, prompt / prefill_s, prefill_gflops,
                    100 * prefill_gflops / sgemm);
        std::printf("decode:  %d tokens in %.3f s = %.2f tok/s (%.1f GB/s of bf16 weights)\n",
                    decode, decode_s, decode / decode_s, active * 2 * decode / decode_s / 1e9);
      }
    }
  }
  std::printf("load after:  %s\n", LoadAvg().c_str());
  if (temp) fs::remove_all(dir);
  return rc;
}

}  // namespace
}  // namespace moedist

int main(int argc, char** argv) {
  return moedist::Main(argc, argv);
}
