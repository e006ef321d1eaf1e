// The importance-matrix file of llama.cpp's llama-imatrix (GGUF format, docs/formats/imatrix.md):
// per weight matrix, the sum over tokens of each input channel's square and the number of
// tokens that reached it. `profile --imatrix` writes one; `pack --imatrix` reads it back (and
// so does llama-quantize --imatrix).
//
// Layout, as llama.cpp's save_imatrix writes it: metadata general.type = "imatrix",
// imatrix.datasets (array of strings), imatrix.chunk_count and imatrix.chunk_size (UINT32), in
// that order; then for each weight, sorted by name, the F32 tensors "<name>.in_sum2"
// (ggml ne [in_features, matrices]) and "<name>.counts" (ne [1, matrices]). matrices is 1 for a
// 2-D weight and the expert count for a merged expert tensor ("blk.3.ffn_down_exps.weight").
// Names are llama.cpp's GGUF tensor names (formats/gguf_tensor_names.h).
//
// The reader goes through the strict GGUF reader and then checks the imatrix rules one by one,
// naming the tensor: the metadata keys and their types, every tensor F32 and 2-D, in_sum2 and
// counts paired with the same matrix count, counts [1, matrices], sums and counts finite and
// non-negative, counts whole numbers. ".in_sum" tensors (newer llama.cpp's plain sums) are
// accepted and ignored; any other tensor is refused. Thread safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/byte_sink.h"
#include "core/status.h"

namespace moedist {

struct ImatrixEntry {
  uint64_t in_features = 0;
  std::vector<float> in_sum2;  // [matrices][in_features]
  std::vector<float> counts;   // [matrices]: tokens (rows) that reached each matrix
  uint64_t matrices() const { return counts.size(); }
  // llama-quantize's importance for matrix m: in_sum2 / count in f32, or all 1 when the matrix
  // saw no token (tools/quantize load_imatrix).
  std::vector<float> Importance(uint64_t matrix) const;
};

struct Imatrix {
  std::vector<std::string> datasets;            // imatrix.datasets
  uint32_t chunk_count = 0;                     // imatrix.chunk_count
  uint32_t chunk_size = 0;                      // imatrix.chunk_size
  std::map<std::string, ImatrixEntry> entries;  // weight name -> entry, sorted as written
};

// Writes `m` to `sink` (deterministic: the same Imatrix gives the same bytes). Refuses an entry
// whose sizes disagree (in_sum2 != matrices × in_features, no matrix) naming it.
Status WriteImatrix(const Imatrix& m, ByteSink& sink);
// The same into `path`, atomically.
Status WriteImatrixFile(const std::string& path, const Imatrix& m);

// Reads an imatrix GGUF from `bytes` (`source` names it in errors) or from `path`.
Result<Imatrix> ParseImatrix(std::span<const uint8_t> bytes, const std::string& source);
Result<Imatrix> ReadImatrixFile(const std::string& path);

}  // namespace moedist
