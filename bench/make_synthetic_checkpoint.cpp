// make_synthetic_checkpoint DIR [--preset tiny|bench20g|runtime|stream3g|probe2l] [--sparse]:
// writes a synthetic Qwen3-MoE checkpoint (see synthetic_checkpoint.h). Used by the README's first
// command, bench/inspect_bench.sh and bench/profile_stream_bench.sh.
#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include "bench/synthetic_checkpoint.h"

int main(int argc, char** argv) {
  CLI::App app{"write a synthetic Qwen3-MoE checkpoint"};
  std::string dir, preset = "tiny";
  bool sparse = false;
  app.add_option("dir", dir, "output directory")->required();
  app.add_option("--preset", preset,
                 "tiny (~0.5 MB), bench20g (~20 GB), runtime (~1.3 GB), stream3g (~3.5 GB), "
                 "probe2l (~3.7 GB)")
      ->check(CLI::IsMember({"tiny", "bench20g", "runtime", "stream3g", "probe2l"}));
  app.add_flag("--sparse", sparse, "leave tensor data as file holes (zeros)");
  CLI11_PARSE(app, argc, argv);
  moedist::SyntheticCheckpointSpec spec;
  if (preset == "bench20g") {
    // Qwen3-30B-A3B widths with 16 layers: ~19.4 GB of bf16, 6 000+ tensors.
    spec = {.layers = 16,
            .hidden = 2048,
            .experts = 128,
            .top_k = 8,
            .moe_intermediate = 768,
            .heads = 32,
            .kv_heads = 4,
            .head_dim = 128,
            .vocab = 151936,
            .shard_bytes = 2ull << 30};
  } else if (preset == "stream3g") {
    // Qwen3-30B-A3B attention and expert widths, 64 experts, 5 layers: 612 MiB per layer,
    // ~3.2 GiB in all; bench/profile_stream_bench.sh profiles it under a 1 GiB limit.
    spec = {.layers = 5,
            .hidden = 2048,
            .experts = 64,
            .top_k = 8,
            .moe_intermediate = 768,
            .heads = 32,
            .kv_heads = 4,
            .head_dim = 128,
            .vocab = 32768};
  } else if (preset == "probe2l") {
    // Qwen3-30B-A3B exactly (vocabulary, attention, 128 experts of 768) with 2 of its 48
    // layers: the trunk's embedding and first layers are what `place DIST` probes
    // (bench/place_probe_bench.sh).
    spec = {.layers = 2,
            .hidden = 2048,
            .experts = 128,
            .top_k = 8,
            .moe_intermediate = 768,
            .heads = 32,
            .kv_heads = 4,
            .head_dim = 128,
            .vocab = 151936,
            .shard_bytes = 2ull << 30};
  } else if (preset == "runtime") {
    spec = {.layers = 4,
            .hidden = 2048,
            .experts = 48,
            .top_k = 8,
            .moe_intermediate = 768,
            .heads = 32,
            .kv_heads = 4,
            .head_dim = 128,
            .vocab = 8192};
  }
  spec.sparse = sparse;
  moedist::Status st = moedist::WriteSyntheticCheckpoint(spec, dir);
  if (!st.ok()) {
    fmt::print(stderr, "make_synthetic_checkpoint: error: {}\n", st.message());
    return 1;
  }
  return 0;
}
