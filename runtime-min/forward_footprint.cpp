#include "runtime-min/forward_footprint.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/byte_size.h"

namespace moedist {
namespace {

// Matmul's widening buffer (kConvertBlockFloats f32, matmul.h), OpenBLAS's packing buffers and
// the per-thread attention and row scratch. On the stream3g benchmark (16 threads,
// bench/profile_stream_bench.sh) the peak exceeded process + statistics + weights + stream +
// work buffers by 18.5 MiB; 48 MiB leaves room for more threads.
constexpr uint64_t kScratchAllowance = uint64_t{48} << 20;

// Rows Forward()'s KV cache holds for n positions: capacity doubles from 16 (kv_cache.h).
uint64_t KvCapacity(uint64_t n) {
  uint64_t cap = 16;
  while (cap < n) cap *= 2;
  return cap;
}

// Bytes of the f32 buffers one call of n tokens grows (activations.h) plus `kv_rows` cached
// positions in each of `kv_layers` layers.
uint64_t WorkBytes(const ModelConfig& c, uint64_t n, uint64_t kv_rows, uint64_t kv_layers) {
  const AttentionConfig& a = c.attention;
  const uint64_t H = c.hidden_size, E = std::max(c.routing.num_experts, 1), k = c.routing.top_k;
  const uint64_t width =
      std::max({c.moe_intermediate_size, c.shared_intermediate_size, c.intermediate_size, 1});
  uint64_t floats = 4 * n * H;          // xn, branch, rows_in, rows_out
  floats += 2 * n * width;              // gate, up
  floats += 2 * n * E + 3 * n * k + n;  // router logits and probs, experts / weights / slots
  uint64_t kv_per_position = 0;
  if (a.kind == AttentionKind::kMla) {
    const uint64_t qk = a.qk_nope_head_dim + a.qk_rope_head_dim, vd = a.v_head_dim;
    floats += n * a.num_heads * qk;                                           // q
    floats += n * a.kv_lora_rank;                                             // latent
    floats += n * a.num_heads * (a.qk_nope_head_dim + vd);                    // kv_b output
    floats += n * a.q_lora_rank + n * (a.kv_lora_rank + a.qk_rope_head_dim);  // q_a, kv_a
    floats += n * a.num_heads * vd;                                           // attention output
    kv_per_position = uint64_t(a.num_heads) * (qk + vd);
  } else {
    const uint64_t hd = a.head_dim;
    floats += 2 * n * a.num_heads * hd + 2 * n * a.num_kv_heads * hd;  // q, att, k, v
    kv_per_position = 2 * uint64_t(a.num_kv_heads) * hd;
  }
  floats += kv_rows * kv_per_position * kv_layers;
  return floats * sizeof(float);
}

uint64_t Longest(const ForwardWorkload& w) {
  uint64_t n = 0;
  for (int t : w.prompt_tokens) n = std::max<uint64_t>(n, static_cast<uint64_t>(t));
  return n;
}

}  // namespace

std::string ForwardFootprint::Describe() const {
  std::string s =
      weight_peak_layer >= 0
          ? fmt::format("weights {} (layer {})", FormatByteSize(weight_bytes), weight_peak_layer)
          : fmt::format("weights {}", FormatByteSize(weight_bytes));
  if (stream_bytes > 0) s += fmt::format(" + residual stream {}", FormatByteSize(stream_bytes));
  return s + fmt::format(" + work buffers {} + scratch {}", FormatByteSize(work_bytes),
                         FormatByteSize(scratch_bytes));
}

ForwardFootprint EstimatePromptByPrompt(const Model& model, const WeightPages& pages,
                                        const ForwardWorkload& work) {
  const ModelConfig& c = model.config();
  ForwardFootprint f;
  // Every layer runs for every prompt, so all layers' pages end up resident (the lm_head is
  // not needed without logits), plus the embedding rows of the tokens seen.
  for (int l = 0; l < pages.num_layers(); ++l) f.weight_bytes += pages.LayerPageBytes(l);
  f.weight_bytes += pages.EmbeddingRowsPageBytes(work.distinct_tokens);
  const uint64_t n = Longest(work);
  // Forward() also keeps the prompt's residual stream (act.x) and a cache of every layer.
  f.work_bytes = WorkBytes(c, n, KvCapacity(n), c.num_layers) + n * c.hidden_size * sizeof(float);
  f.scratch_bytes = kScratchAllowance;
  return f;
}

ForwardFootprint EstimateLayerMajor(const Model& model, const WeightPages& pages,
                                    const ForwardWorkload& work) {
  const ModelConfig& c = model.config();
  const int last = work.last_layer < 0 ? pages.num_layers() - 1
                                       : std::min(work.last_layer, pages.num_layers() - 1);
  ForwardFootprint f;
  // The embedding's pages are released before layer 0 runs; each layer's before the next.
  f.weight_bytes = pages.EmbeddingRowsPageBytes(work.distinct_tokens);
  for (int l = 0; l <= last; ++l) {
    if (pages.LayerPageBytes(l) > f.weight_bytes) {
      f.weight_bytes = pages.LayerPageBytes(l);
      f.weight_peak_layer = l;
    }
  }
  uint64_t tokens = 0;
  for (int t : work.prompt_tokens) tokens += static_cast<uint64_t>(t);
  f.stream_bytes = tokens * c.hidden_size * sizeof(float);
  const uint64_t n = Longest(work);
  f.work_bytes = WorkBytes(c, n, n, 1);
  f.scratch_bytes = kScratchAllowance;
  return f;
}

}  // namespace moedist
