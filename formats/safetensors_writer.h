// Deterministic, streaming safetensors writer.
//
// Tensors are laid out sorted by name; the header is compact JSON with sorted keys, padded with
// spaces to a multiple of 8 bytes (as the reference implementation does), so the same inputs
// always give the same bytes and digest. Tensor data is streamed from each source's producer
// straight to the sink, so memory stays bounded by what a producer holds. The same routine
// writes files (through AtomicFile, published only on success), computes sizes (CountingSink)
// and digests.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/byte_sink.h"
#include "core/status.h"
#include "quant/dtype.h"

namespace moedist {

struct SafetensorsSource {
  std::string name;
  DType dtype;
  std::vector<uint64_t> shape;
  // Emits exactly the tensor's bytes (shape × dtype) to `sink`, in any number of pieces.
  std::function<Status(ByteSink& sink)> produce;
};

// A source whose bytes already sit in memory (or in a mapping) that outlives the write.
SafetensorsSource SourceFromBytes(std::string name, DType dtype, std::vector<uint64_t> shape,
                                  std::span<const uint8_t> bytes);

// Writes header + data to `sink`. Refuses duplicate names, sizes that overflow, and producers
// that emit a byte count other than the tensor's size.
Status WriteSafetensors(std::vector<SafetensorsSource> sources,
                        const std::map<std::string, std::string>& metadata, ByteSink& sink);

// Writes to `path` atomically (temporary name, fsync, rename, directory fsync).
Status WriteSafetensorsFile(const std::string& path, std::vector<SafetensorsSource> sources,
                            const std::map<std::string, std::string>& metadata);

}  // namespace moedist
