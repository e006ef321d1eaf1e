// zstd streams for node archives, on libzstd directly (docs/formats/archive.md says why not
// libarchive's zstd filter: the decoder's window cap and the worker threads are set here
// explicitly, and errors name what they are, whatever options libarchive was built with).
//
//   ZstdCompressSink   a ByteSink that compresses into another sink: one frame with content
//                      checksum; `workers` >= 1 compresses on that many threads beside the
//                      caller (output identical for any workers >= 1).
//   ZstdDecompressor   pulls decompressed bytes out of a file descriptor with the window capped
//                      at kMaxZstdWindowLog (reliability row 29: a frame asking for more memory
//                      is refused, not obeyed); a stream that ends inside a frame is refused as
//                      truncated. Concatenated frames decode as one stream (zstd's own rule).
// Thread safety: one object per stream.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/byte_sink.h"
#include "core/status.h"

namespace moedist {

inline constexpr int kMaxZstdWindowLog = 27;  // 128 MiB, zstd's own default decoder limit

struct ZstdCompressOptions {
  int level = 3;
  int workers = 1;
};

class ZstdCompressSink final : public ByteSink {
 public:
  // `next` must outlive the sink; `what` names the output in errors.
  static Result<std::unique_ptr<ZstdCompressSink>> Create(ByteSink* next,
                                                          const ZstdCompressOptions& options,
                                                          std::string what);
  ~ZstdCompressSink() override;
  Status Write(std::span<const uint8_t> bytes) override;
  // Ends the frame and flushes everything to `next`.
  Status Finish();
  uint64_t bytes_in() const { return bytes_in_; }

 private:
  ZstdCompressSink(ByteSink* next, std::string what);
  Status Drive(std::span<const uint8_t> bytes, bool end);

  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  ByteSink* next_;
  std::string what_;
  std::vector<uint8_t> out_;
  uint64_t bytes_in_ = 0;
};

class ZstdDecompressor {
 public:
  // Does not own `fd`; `what` names the input in errors.
  static Result<std::unique_ptr<ZstdDecompressor>> Create(int fd, std::string what,
                                                          int window_log_max = kMaxZstdWindowLog);
  ~ZstdDecompressor();
  // Fills up to out.size() bytes; returns 0 only at the end of the stream, after checking it
  // did not end inside a frame.
  Result<size_t> Read(std::span<uint8_t> out);
  uint64_t compressed_bytes_read() const { return compressed_read_; }

 private:
  ZstdDecompressor(int fd, std::string what);

  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  int fd_;
  std::string what_;
  std::vector<uint8_t> in_;
  size_t in_pos_ = 0;
  size_t in_size_ = 0;
  bool input_done_ = false;
  bool frame_open_ = false;  // inside a frame that has not ended yet
  uint64_t compressed_read_ = 0;
};

// One-shot compression of `bytes` at `level`, for measuring (plane_choice.h); returns the size.
Result<size_t> ZstdCompressedSize(std::span<const uint8_t> bytes, int level);

}  // namespace moedist
