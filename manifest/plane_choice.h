// ChoosePlaneRanges: which byte ranges of one bundle file a node archive stores as byte planes
// (byte_planes.h). Only the data of BF16 and F16 tensors in .safetensors files qualify. In the
// default mode each such tensor is measured: up to three windows of it (start, middle, end) are
// compressed with zstd at the archive's level both as they are and split into planes, and the
// tensor is split only when that saves at least `min_gain` of the compressed sample, so random
// or already-dense data (and tiny tensors) stay raw. Measuring costs about two compressions of
// 384 KiB per tensor, small against compressing the tensor itself.
// kAlways splits every BF16/F16 tensor, however small (tests, measurements).
// A file that is not a valid safetensors file is stored raw: the archive never depends on a
// header it could not read, and the unpacker's digest check judges the bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "manifest/byte_planes.h"

namespace moedist {

struct PlaneChoiceOptions {
  enum Mode { kAuto, kNever, kAlways };
  Mode mode = kAuto;
  int level = 3;                              // zstd level the archive uses
  uint64_t min_tensor_bytes = 64u << 10;      // kAuto: smaller tensors stay raw
  uint64_t sample_window_bytes = 128u << 10;  // per window, three windows per tensor
  double min_gain = 0.01;
};

struct PlaneChoice {
  std::vector<PlaneRange> ranges;  // sorted, adjacent tensors merged, for CheckPlaneRanges
  uint64_t tensors_split = 0;
  uint64_t candidates = 0;     // BF16/F16 tensors considered
  uint64_t sampled_bytes = 0;  // bytes compressed both ways to decide
  uint64_t sample_raw_compressed = 0;
  uint64_t sample_split_compressed = 0;
};

// `path` is read through a memory map (only the header and the sampled pages are touched).
Result<PlaneChoice> ChoosePlaneRanges(const std::string& path, const PlaneChoiceOptions& options);

}  // namespace moedist
