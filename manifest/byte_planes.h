// Byte planes: how a node archive stores 2-byte floats (BF16, F16) so zstd can compress them
// (docs/formats/archive.md, "Byte planes").
//
// In a little-endian BF16 value the high byte holds the sign and seven of the eight exponent
// bits, the low byte the last exponent bit and the mantissa. Exponents of trained weights
// cluster in a few values, mantissas are close to random; interleaved, the two defeat zstd's
// literal coder, separated, the exponent plane compresses to a fraction and the mantissa plane
// stays as it is. So a plane range [offset, offset + length) of a file (even length) is stored
// chunk by chunk: each chunk of kPlaneChunkBytes source bytes (the last one shorter) becomes
// its high bytes followed by its low bytes. Chunking bounds the memory of both directions to
// one chunk and keeps each plane long enough for zstd's 128 KiB blocks.
//
// PlaneTransformSink applies the transform (kSplit) or its inverse (kMerge) to a file's bytes
// arriving in arbitrary pieces and forwards the result; bytes outside every range pass as they
// are. The transform is a permutation of each chunk, so any ranges restore exactly: a wrong or
// forged range list changes the stored bytes, never the ability to get the source back, and
// the SHA-256 check after merging catches whatever does not match.
// Thread safety: plain values; one sink per stream.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/byte_sink.h"
#include "core/status.h"

namespace moedist {

inline constexpr uint64_t kPlaneChunkBytes = 1u << 20;

struct PlaneRange {
  uint64_t offset = 0;  // from the start of the file
  uint64_t length = 0;  // bytes, even, > 0
  bool operator==(const PlaneRange&) const = default;
};

// `in` (even length) → its odd-indexed (high) bytes, then its even-indexed (low) bytes.
void SplitPlaneChunk(std::span<const uint8_t> in, uint8_t* out);
// The inverse of SplitPlaneChunk.
void MergePlaneChunk(std::span<const uint8_t> in, uint8_t* out);

// Ranges must be non-empty, of even length, sorted, non-overlapping and inside `file_size`;
// `what` names the file in errors.
Status CheckPlaneRanges(const std::vector<PlaneRange>& ranges, uint64_t file_size,
                        std::string_view what);

class PlaneTransformSink final : public ByteSink {
 public:
  enum Direction { kSplit, kMerge };
  // `ranges` must have passed CheckPlaneRanges; `next` must outlive the sink.
  PlaneTransformSink(Direction direction, std::vector<PlaneRange> ranges, ByteSink* next);
  Status Write(std::span<const uint8_t> bytes) override;
  // Fails if the stream ended inside a range (a chunk is still incomplete).
  Status Finish(std::string_view what) const;
  uint64_t position() const { return position_; }

 private:
  Status FlushChunk();

  Direction direction_;
  std::vector<PlaneRange> ranges_;
  ByteSink* next_;
  size_t range_index_ = 0;
  uint64_t position_ = 0;  // bytes received
  std::vector<uint8_t> chunk_;
  std::vector<uint8_t> transformed_;
  uint64_t chunk_target_ = 0;  // size of the chunk being filled (0: not inside a range)
};

}  // namespace moedist
