#include "manifest/zstd_stream.h"

#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <cerrno>
#include <cstring>

namespace moedist {

struct ZstdCompressSink::Ctx {
  ZSTD_CCtx* cctx = nullptr;
  ~Ctx() { ZSTD_freeCCtx(cctx); }
};

Result<std::unique_ptr<ZstdCompressSink>> ZstdCompressSink::Create(
    ByteSink* next, const ZstdCompressOptions& options, std::string what) {
  std::unique_ptr<ZstdCompressSink> sink(new ZstdCompressSink(next, std::move(what)));
  sink->ctx_ = std::make_unique<Ctx>();
  sink->ctx_->cctx = ZSTD_createCCtx();
  if (sink->ctx_->cctx == nullptr) return Status::Internal("zstd: cannot create a context");
  ZSTD_CCtx* c = sink->ctx_->cctx;
  if (options.level < ZSTD_minCLevel() || options.level > ZSTD_maxCLevel()) {
    return Status::InvalidArgument("zstd level {} is outside [{}, {}]", options.level,
                                   ZSTD_minCLevel(), ZSTD_maxCLevel());
  }
  size_t r = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, options.level);
  if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  // Every level (up to 22, window 2^27) stays within the window cap the unpacker enforces;
  // long-distance matching, which would exceed it, is never enabled.
  if (!ZSTD_isError(r) && options.workers >= 1) {
    r = ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, options.workers);
  }
  if (ZSTD_isError(r)) {
    return Status::Internal("zstd: cannot set parameters: {}", ZSTD_getErrorName(r));
  }
  sink->out_.resize(ZSTD_CStreamOutSize());
  return sink;
}

ZstdCompressSink::ZstdCompressSink(ByteSink* next, std::string what)
    : next_(next), what_(std::move(what)) {}
ZstdCompressSink::~ZstdCompressSink() = default;

Status ZstdCompressSink::Drive(std::span<const uint8_t> bytes, bool end) {
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  while (true) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    const size_t r =
        ZSTD_compressStream2(ctx_->cctx, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(r)) {
      return Status::Internal("{}: zstd compression failed: {}", what_, ZSTD_getErrorName(r));
    }
    if (out.pos > 0) RETURN_IF_ERROR(next_->Write(std::span(out_.data(), out.pos)));
    if (end ? r == 0 : in.pos == in.size) return Status::Ok();
  }
}

Status ZstdCompressSink::Write(std::span<const uint8_t> bytes) {
  bytes_in_ += bytes.size();
  return Drive(bytes, false);
}

Status ZstdCompressSink::Finish() {
  return Drive({}, true);
}

struct ZstdDecompressor::Ctx {
  ZSTD_DCtx* dctx = nullptr;
  ~Ctx() { ZSTD_freeDCtx(dctx); }
};

Result<std::unique_ptr<ZstdDecompressor>> ZstdDecompressor::Create(int fd, std::string what,
                                                                   int window_log_max) {
  std::unique_ptr<ZstdDecompressor> d(new ZstdDecompressor(fd, std::move(what)));
  d->ctx_ = std::make_unique<Ctx>();
  d->ctx_->dctx = ZSTD_createDCtx();
  if (d->ctx_->dctx == nullptr) return Status::Internal("zstd: cannot create a context");
  const size_t r = ZSTD_DCtx_setParameter(d->ctx_->dctx, ZSTD_d_windowLogMax, window_log_max);
  if (ZSTD_isError(r)) {
    return Status::Internal("zstd: cannot cap the window at 2^{}: {}", window_log_max,
                            ZSTD_getErrorName(r));
  }
  d->in_.resize(ZSTD_DStreamInSize());
  return d;
}

ZstdDecompressor::ZstdDecompressor(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
ZstdDecompressor::~ZstdDecompressor() = default;

Result<size_t> ZstdDecompressor::Read(std::span<uint8_t> out_bytes) {
  ZSTD_outBuffer out{out_bytes.data(), out_bytes.size(), 0};
  while (true) {
    if (in_pos_ == in_size_ && !input_done_) {
      ssize_t n;
      do {
        n = ::read(fd_, in_.data(), in_.size());
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        return Status::IoError("{}: read failed after {} bytes: {}", what_, compressed_read_,
                               std::strerror(errno));
      }
      in_pos_ = 0;
      in_size_ = static_cast<size_t>(n);
      compressed_read_ += in_size_;
      input_done_ = n == 0;
    }
    ZSTD_inBuffer in{in_.data(), in_size_, in_pos_};
    const size_t r = ZSTD_decompressStream(ctx_->dctx, &out, &in);
    const bool progress = in.pos != in_pos_ || out.pos > 0;
    in_pos_ = in.pos;
    if (ZSTD_isError(r)) {
      if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge) {
        return Status::Corruption(
            "{}: zstd frame needs a window larger than the limit of 2^{} bytes; refused "
            "(decompression memory is bounded)",
            what_, kMaxZstdWindowLog);
      }
      return Status::Corruption("{}: zstd data corrupt near compressed byte {}: {}", what_,
                                compressed_read_ - (in_size_ - in_pos_), ZSTD_getErrorName(r));
    }
    if (progress) frame_open_ = r != 0;
    if (out.pos > 0) return out.pos;
    if (in_pos_ == in_size_ && input_done_) {
      if (frame_open_) {
        return Status::Corruption(
            "{}: truncated: the zstd stream ends inside a frame after {} "
            "compressed bytes",
            what_, compressed_read_);
      }
      return size_t{0};
    }
  }
}

Result<size_t> ZstdCompressedSize(std::span<const uint8_t> bytes, int level) {
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(),
                                                                       ZSTD_freeCCtx);
  thread_local std::vector<uint8_t> out;
  out.resize(ZSTD_compressBound(bytes.size()));
  const size_t r =
      ZSTD_compressCCtx(cctx.get(), out.data(), out.size(), bytes.data(), bytes.size(), level);
  if (ZSTD_isError(r))
    return Status::Internal("zstd: compression failed: {}", ZSTD_getErrorName(r));
  return r;
}

}  // namespace moedist
