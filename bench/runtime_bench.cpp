// runtime_bench: prefill and decode speed of runtime-min on a synthetic Qwen3-MoE checkpoint of
// realistic width, beside the machine's own sgemm GFLOP/s measured in the same run (the
// baseline the prefill figure is a fraction of) and the load average (a busy machine halves
// two-thread numbers; design.md §6).
//
//   runtime_bench [--prompt N] [--decode N] [--keep DIR] [--small] [--quant q8_0,q4_k|none]
//
// The checkpoint (hidden 2048, 4 layers, 48 experts of width 768, top-8, 32 heads / 4 KV heads
// of 128, vocab 8192, bf16 random weights: about 2 GB) is written to a temporary directory and
// removed afterwards, unless --keep names a directory to write once and reuse. Each --quant type
// gets a copy whose routed experts are stored as moedist pack stores them (U8 blocks with
// moedist.quant metadata, docs/formats/bundle.md; the rest stays bf16), and is timed the same
// way, so decode tokens/s of quantized experts print next to bf16's.
#include <cblas.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/synthetic_checkpoint.h"
#include "formats/hf_checkpoint.h"
#include "formats/safetensors_writer.h"
#include "quant/decode_f32.h"
#include "quant/quantize.h"
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

// Copy of the checkpoint in `src` with every routed expert weight quantized to `type` and
// stored as pack stores it; one tensor is decoded and quantized at a time while writing.
Status WriteQuantizedExperts(const std::string& src, const std::string& dst, QuantType type) {
  ASSIGN_OR_RETURN(std::unique_ptr<Checkpoint> ckpt, Checkpoint::Open(src));
  std::vector<SafetensorsSource> sources;
  std::map<std::string, std::string> metadata = {{"format", "pt"}};
  for (const CheckpointTensor& t : ckpt->tensors()) {
    if (t.name.find(".mlp.experts.") == std::string::npos || t.shape().size() != 2) {
      sources.push_back(SourceFromBytes(t.name, t.dtype(), t.shape(), t.bytes()));
      continue;
    }
    const uint64_t rows = t.shape()[0], len = t.shape()[1];
    ASSIGN_OR_RETURN(uint64_t bytes, QuantTensorBytes(type, rows, len));
    metadata["moedist.quant." + t.name] =
        fmt::format(R"({{"shape":[{},{}],"source_dtype":"{}","type":"{}"}})", rows, len,
                    DTypeName(t.dtype()), QuantTypeName(type));
    const CheckpointTensor* tp = &t;
    sources.push_back({t.name, DType::kU8, {bytes}, [tp, type, len](ByteSink& sink) -> Status {
                         std::vector<float> values(tp->info->num_elements());
                         RETURN_IF_ERROR(DecodeToF32(tp->dtype(), tp->bytes(), values));
                         std::vector<uint8_t> out(
                             *QuantTensorBytes(type, values.size() / len, len));
                         RETURN_IF_ERROR(QuantizeRows(type, values, len, out));
                         return sink.Write(out);
                       }});
  }
  std::error_code ec;
  fs::create_directories(dst, ec);
  fs::copy_file(fs::path(src) / "config.json", fs::path(dst) / "config.json",
                fs::copy_options::overwrite_existing, ec);
  if (ec) return Status::IoError("{}: {}", dst, ec.message());
  return WriteSafetensorsFile(dst + "/model.safetensors", std::move(sources), metadata);
}

struct Timing {
  std::string variant;
  double active_bytes = 0;  // weight bytes one decoded token reads
  double prefill_tps = 0, decode_tps = 0;
};

// Prefill of `prompt` random tokens, then `decode` greedy tokens, on the checkpoint in `dir`.
Result<Timing> TimeModel(const std::string& dir, const std::string& variant, int prompt, int decode,
                         double sgemm) {
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Open(dir));
  const ModelConfig& c = model->config();
  const double h = c.hidden_size, i = c.moe_intermediate_size, v = c.vocab_size;
  const double q = double(c.attention.num_heads) * c.attention.head_dim;
  const double kv = double(c.attention.num_kv_heads) * c.attention.head_dim;
  // Weights each token multiplies by: attention, router, top-k experts, lm_head.
  const double experts = c.num_layers * c.routing.top_k * 3 * h * i;
  const double active =
      c.num_layers * (h * (2 * q + 2 * kv) + h * c.routing.num_experts) + experts + v * h;
  const QuantType expert_type = model->weights().layers[0].moe.experts[0].gate.type;
  Timing timing{variant, (active - experts) * 2 + experts * QuantBitsPerWeight(expert_type) / 8};

  std::mt19937 rng(3);
  std::vector<int32_t> ids(prompt);
  for (int32_t& id : ids) id = static_cast<int32_t>(rng() % c.vocab_size);
  ForwardOptions fo;
  fo.all_logits = false;
  std::vector<float> logits;
  // Warm-up: fault the mapping in once, so both figures measure compute, not page-ins.
  {
    Sequence warm(*model);
    RETURN_IF_ERROR(Forward(*model, warm, std::span(ids).first(std::min(prompt, 16)), fo, &logits));
  }
  Sequence seq(*model);
  auto t = Clock::now();
  RETURN_IF_ERROR(Forward(*model, seq, ids, fo, &logits));
  const double prefill_s = Since(t);
  Sampler greedy({});
  t = Clock::now();
  for (int k = 0; k < decode; ++k) {
    const int32_t next = greedy.Sample(logits.data(), c.vocab_size);
    RETURN_IF_ERROR(Forward(*model, seq, std::span<const int32_t>(&next, 1), fo, &logits));
  }
  const double decode_s = Since(t);
  timing.prefill_tps = prompt / prefill_s;
  timing.decode_tps = decode / decode_s;
  const double prefill_gflops = 2 * active * prompt / prefill_s / 1e9;
  std::printf("[%s] active weights per token: %.0f M (%.0f MB)\n", variant.c_str(), active / 1e6,
              timing.active_bytes / 1e6);
  std::printf("[%s] prefill: %d tokens in %.3f s = %.1f tok/s (%.1f GFLOP/s, %.0f%% of sgemm)\n",
              variant.c_str(), prompt, prefill_s, timing.prefill_tps, prefill_gflops,
              100 * prefill_gflops / sgemm);
  std::printf("[%s] decode:  %d tokens in %.3f s = %.2f tok/s (%.1f GB/s of weights)\n",
              variant.c_str(), decode, decode_s, timing.decode_tps,
              timing.active_bytes * decode / decode_s / 1e9);
  return timing;
}

int Main(int argc, char** argv) {
  int prompt = 128, decode = 32;
  bool small = false;
  std::string keep, quant = "q8_0,q4_k";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--prompt" && i + 1 < argc)
      prompt = std::atoi(argv[++i]);
    else if (a == "--decode" && i + 1 < argc)
      decode = std::atoi(argv[++i]);
    else if (a == "--keep" && i + 1 < argc)
      keep = argv[++i];
    else if (a == "--quant" && i + 1 < argc)
      quant = argv[++i];
    else if (a == "--small")
      small = true;
    else {
      std::fprintf(stderr,
                   "usage: runtime_bench [--prompt N] [--decode N] [--keep DIR] [--small] "
                   "[--quant q8_0,q4_k|none]\n");
      return 2;
    }
  }
  std::vector<QuantType> quant_types;
  std::stringstream list(quant == "none" ? "" : quant);
  for (std::string name; std::getline(list, name, ',');) {
    Result<QuantType> t = ParseQuantType(name);
    if (!t.ok()) {
      std::fprintf(stderr, "runtime_bench: --quant: %s\n", t.status().ToString().c_str());
      return 2;
    }
    quant_types.push_back(*t);
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
    spec.moe_intermediate = 256;
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
  std::vector<std::pair<std::string, fs::path>> variants = {{"bf16", dir}};
  for (QuantType type : quant_types) {
    const std::string name = "experts " + std::string(QuantTypeName(type));
    const fs::path qdir = dir.string() + "-" + std::string(QuantTypeName(type));
    if (temp || !fs::exists(qdir / "config.json")) {
      auto t = Clock::now();
      Status st = WriteQuantizedExperts(dir.string(), qdir.string(), type);
      if (!st.ok()) {
        std::fprintf(stderr, "runtime_bench: %s\n", st.ToString().c_str());
        return 1;
      }
      std::printf("wrote %s copy to %s in %.1f s\n", name.c_str(), qdir.c_str(), Since(t));
    }
    variants.push_back({name, qdir});
  }
  const double sgemm = SgemmGflops(2048);
  std::printf("threads %d; sgemm 2048^3: %.1f GFLOP/s\n", DefaultThreadPool().size(), sgemm);
  int rc = 0;
  std::vector<Timing> timings;
  for (const auto& [name, path] : variants) {
    Result<Timing> t = TimeModel(path.string(), name, prompt, decode, sgemm);
    if (!t.ok()) {
      std::fprintf(stderr, "runtime_bench: %s: %s\n", name.c_str(), t.status().ToString().c_str());
      rc = 1;
      continue;
    }
    timings.push_back(*t);
  }
  std::printf(
      "\n| weights | MB read per token | prefill tok/s | decode tok/s | decode × bf16 |\n"
      "| --- | --- | --- | --- | --- |\n");
  for (const Timing& t : timings) {
    std::printf("| %s | %.0f | %.1f | %.2f | %.2f |\n", t.variant.c_str(), t.active_bytes / 1e6,
                t.prefill_tps, t.decode_tps, t.decode_tps / timings.front().decode_tps);
  }
  std::printf("load after:  %s\n", LoadAvg().c_str());
  if (temp) {
    for (const auto& [name, path] : variants) fs::remove_all(path);
  }
  return rc;
}

}  // namespace
}  // namespace moedist

int main(int argc, char** argv) {
  return moedist::Main(argc, argv);
}
