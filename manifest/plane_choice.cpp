#include "manifest/plane_choice.h"

#include <algorithm>

#include "formats/safetensors_reader.h"
#include "manifest/zstd_stream.h"

namespace moedist {
namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct SampleSizes {
  uint64_t raw = 0;
  uint64_t split = 0;
};

// Compresses each window of `data` as it is and as planes.
Result<SampleSizes> MeasureSample(std::span<const uint8_t> data, uint64_t window, int level,
                                  std::vector<uint8_t>* scratch) {
  std::vector<uint64_t> starts;
  if (data.size() <= 3 * window) {
    starts = {0};
    window = data.size();
  } else {
    starts = {0, (data.size() / 2) & ~uint64_t{1}, data.size() - window};
  }
  SampleSizes sizes;
  for (uint64_t start : starts) {
    const auto piece = data.subspan(start, window);
    scratch->resize(piece.size());
    SplitPlaneChunk(piece, scratch->data());
    ASSIGN_OR_RETURN(const size_t raw, ZstdCompressedSize(piece, level));
    ASSIGN_OR_RETURN(const size_t split, ZstdCompressedSize(*scratch, level));
    sizes.raw += raw;
    sizes.split += split;
  }
  return sizes;
}

}  // namespace

Result<PlaneChoice> ChoosePlaneRanges(const std::string& path, const PlaneChoiceOptions& options) {
  PlaneChoice choice;
  if (options.mode == PlaneChoiceOptions::kNever || !EndsWith(path, ".safetensors")) return choice;
  auto file = SafetensorsFile::Open(path);
  if (!file.ok()) return choice;  // stored raw; see the header
  std::vector<uint8_t> scratch;
  for (const SafetensorsTensor& t : (*file)->tensors()) {
    if (t.dtype != DType::kBF16 && t.dtype != DType::kF16) continue;
    if (t.num_bytes() == 0 || t.num_bytes() % 2 != 0) continue;
    const PlaneRange range{(*file)->data_offset() + t.data_begin, t.num_bytes()};
    if (options.mode == PlaneChoiceOptions::kAlways) {
      ++choice.candidates;
      choice.ranges.push_back(range);
      continue;
    }
    if (t.num_bytes() < options.min_tensor_bytes) continue;
    ++choice.candidates;
    ASSIGN_OR_RETURN(const SampleSizes s,
                     MeasureSample((*file)->TensorBytes(t), options.sample_window_bytes,
                                   options.level, &scratch));
    choice.sampled_bytes += std::min<uint64_t>(t.num_bytes(), 3 * options.sample_window_bytes);
    choice.sample_raw_compressed += s.raw;
    choice.sample_split_compressed += s.split;
    if (static_cast<double>(s.split) <= static_cast<double>(s.raw) * (1.0 - options.min_gain)) {
      choice.ranges.push_back(range);
    }
  }
  // tensors() is in data order, so the ranges are sorted and disjoint. Adjacent ones merge:
  // chunks then span tensors, so each plane is up to 512 KiB long even where tensors are small,
  // and zstd's blocks hold one plane instead of alternating ones (on the example model, zstd -1:
  // ratio 1.32 split per tensor, 1.46 merged).
  choice.tensors_split = choice.ranges.size();
  std::vector<PlaneRange> merged;
  for (const PlaneRange& r : choice.ranges) {
    if (!merged.empty() && merged.back().offset + merged.back().length == r.offset) {
      merged.back().length += r.length;
    } else {
      merged.push_back(r);
    }
  }
  choice.ranges = std::move(merged);
  RETURN_IF_ERROR(CheckPlaneRanges(choice.ranges, (*file)->file_size(), path));
  return choice;
}

}  // namespace moedist
