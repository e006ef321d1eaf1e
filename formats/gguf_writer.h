// Deterministic, streaming GGUF version 3 writer (docs/formats/gguf.md).
//
// The output is a pure function of its inputs: metadata in the caller's order (llama.cpp
// expects general.architecture first; the writer keeps whatever order it is given and adds no
// key of its own), tensors in the caller's order, each at the next multiple of the alignment,
// zero padding after the header and after every tensor including the last (as ggml's and
// gguf-py's writers pad). The alignment is general.alignment when the caller sets it (a UINT32
// power of two, at least 8 as the spec asks) and ggml's default 32 otherwise, so the key is only
// written when the caller wants a non-default alignment.
//
// The writer refuses anything GgufFile (with the same limits) would refuse, so every file it
// produces passes the strict reader. The header is built in memory (it is bounded by
// GgufLimits::max_header_bytes); tensor data is streamed from each source's producer straight to
// the sink. The same routine writes files (through AtomicFile, published only on success),
// computes sizes (CountingSink) and digests (a hashing sink).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/byte_sink.h"
#include "core/status.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_types.h"
#include "formats/gguf_value.h"

namespace moedist {

struct GgufTensorSource {
  std::string name;
  GgmlType type;
  std::vector<uint64_t> ne;  // ggml dims, ne[0] is the row (fastest varying); at most 4
  // Emits exactly the tensor's bytes to `sink`, in any number of pieces.
  std::function<Status(ByteSink& sink)> produce;
};

// A source whose bytes already sit in memory (or in a mapping) that outlives the write.
GgufTensorSource GgufSourceFromBytes(std::string name, GgmlType type, std::vector<uint64_t> ne,
                                     std::span<const uint8_t> bytes);

struct GgufWriteOptions {
  // Arrays of arrays are valid GGUF, but stock ggml refuses them when loading ("invalid GGUF
  // type"), so files meant for llama.cpp must not hold them. Off unless a caller opts in.
  bool allow_nested_arrays = false;
  GgufLimits limits;  // the reader's limits the output must respect
};

// Where everything lands; filled by WriteGguf for callers that record offsets.
struct GgufLayout {
  uint32_t alignment = 0;
  uint64_t header_bytes = 0;  // magic through the last tensor info, before padding
  uint64_t data_offset = 0;   // absolute offset of the data section
  std::vector<uint64_t> tensor_offsets;  // relative to data_offset, in caller order
  uint64_t file_bytes = 0;
};

// Validates everything, then writes header, padding and tensor data to `sink`. Refuses (with
// InvalidArgument naming the key or tensor) duplicate keys or tensor names, invalid keys or
// names, invalid UTF-8, bools other than 0/1, nested arrays unless allowed, a bad or mistyped
// general.alignment, more than 4 dims, sizes that overflow, rows that are not a multiple of the
// block, and values beyond the limits; a producer that emits another byte count is Internal.
Status WriteGguf(const std::vector<GgufKv>& metadata, std::vector<GgufTensorSource> tensors,
                 ByteSink& sink, const GgufWriteOptions& options = {},
                 GgufLayout* layout = nullptr);

// Writes to `path` atomically (temporary name, fsync, rename, directory fsync).
Status WriteGgufFile(const std::string& path, const std::vector<GgufKv>& metadata,
                     std::vector<GgufTensorSource> tensors, const GgufWriteOptions& options = {});

}  // namespace moedist
