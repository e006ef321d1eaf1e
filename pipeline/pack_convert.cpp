#include "pipeline/pack_convert.h"

#include <algorithm>

#include "core/checked_math.h"
#include "quant/decode_f32.h"
#include "quant/fp8.h"
#include "quant/quantize.h"

namespace moedist {
namespace {

constexpr uint64_t kSlabFloats = uint64_t{1} << 20;  // 4 MiB of f32 per conversion step
constexpr uint64_t kCopyChunk = uint64_t{8} << 20;   // bytes per raw copy step

// Drops the pages of [offset, offset + length) of the tensor's data from this process, so
// streaming a model through pack does not accumulate it in resident memory.
void ReleasePages(const CheckpointTensor& t, uint64_t offset, uint64_t length) {
  if (const auto& m = t.shard->mapping()) {
    m->AdviseDontNeed(t.shard->data_offset() + t.info->data_begin + offset, length);
  }
}

bool SameEncoding(DType d, QuantType q) {
  return (d == DType::kF32 && q == QuantType::kF32) || (d == DType::kF16 && q == QuantType::kF16) ||
         (d == DType::kBF16 && q == QuantType::kBF16);
}

bool CopiesBytes(const ConvertInput& in, const RecipeType& stored) {
  return !stored.type ||
         (in.scale_inv == nullptr && SameEncoding(in.tensor->dtype(), *stored.type));
}

std::vector<RowRange> RangesOf(const ConvertInput& in) {
  if (!in.ranges.empty()) return in.ranges;
  return {{0, TensorRows(*in.tensor)}};
}

Status CheckRanges(const ConvertInput& in) {
  const uint64_t rows = TensorRows(*in.tensor);
  for (const RowRange& r : RangesOf(in)) {
    if (r.begin > r.end || r.end > rows) {
      return Status::Internal("tensor \"{}\": row range [{}, {}) outside its {} rows",
                              in.tensor->name, r.begin, r.end, rows);
    }
  }
  return Status::Ok();
}

// Bytes per row of the stored tensor (whole bytes, or an error naming the tensor).
Result<uint64_t> RawRowBytes(const CheckpointTensor& t) {
  const uint64_t rows = TensorRows(t);
  if (rows == 0) return uint64_t{0};
  if (t.num_bytes() % rows != 0) {
    return Status::Unsupported("tensor \"{}\": {} bytes do not split into {} rows", t.name,
                               t.num_bytes(), rows);
  }
  return t.num_bytes() / rows;
}

// Decodes rows of one tensor to f32; holds the decoded FP8 scales for the whole call.
class RowDecoder {
 public:
  static Result<RowDecoder> Make(const ConvertInput& in) {
    RowDecoder d;
    d.in_ = &in;
    d.row_length_ = TensorRowLength(*in.tensor);
    if (in.scale_inv) {
      if (in.tensor->shape().size() != 2) {
        return Status::Unsupported("tensor \"{}\": block-scaled FP8 weights must be 2-D",
                                   in.tensor->name);
      }
      d.scales_.resize(in.scale_inv->info->num_elements());
      RETURN_IF_ERROR(DecodeToF32(in.scale_inv->dtype(), in.scale_inv->bytes(), d.scales_)
                          .WithContext(in.scale_inv->name));
      d.grid_ = {in.tensor->shape()[0], in.tensor->shape()[1], in.scale_block_rows,
                 in.scale_block_cols};
    } else {
      const uint64_t bits = DTypeBits(in.tensor->dtype());
      if (bits % 8 != 0) {
        return Status::Unsupported("tensor \"{}\": dtype {} cannot be converted; use keep",
                                   in.tensor->name, DTypeName(in.tensor->dtype()));
      }
      d.row_bytes_ = d.row_length_ * bits / 8;
    }
    return d;
  }

  Status Decode(uint64_t begin, uint64_t end, float* out) const {
    const CheckpointTensor& t = *in_->tensor;
    std::span<float> dst(out, (end - begin) * row_length_);
    if (in_->scale_inv) {
      return DequantizeFp8BlockScaled(grid_, t.bytes(), scales_, begin, dst).WithContext(t.name);
    }
    return DecodeToF32(t.dtype(), t.bytes().subspan(begin * row_bytes_, (end - begin) * row_bytes_),
                       dst)
        .WithContext(t.name);
  }
  // Bytes of the source mapping rows [begin, end) occupy (for releasing pages).
  std::pair<uint64_t, uint64_t> SourceSpan(uint64_t begin, uint64_t end) const {
    if (in_->scale_inv) return {begin * row_length_, (end - begin) * row_length_};  // 1 byte each
    return {begin * row_bytes_, (end - begin) * row_bytes_};
  }
  uint64_t row_length() const { return row_length_; }

 private:
  const ConvertInput* in_ = nullptr;
  uint64_t row_length_ = 0;
  uint64_t row_bytes_ = 0;
  std::vector<float> scales_;
  Fp8BlockGrid grid_;
};

}  // namespace

uint64_t TensorRowLength(const CheckpointTensor& t) {
  return t.shape().size() >= 2 ? t.shape().back() : 1;
}

uint64_t TensorRows(const CheckpointTensor& t) {
  const auto& s = t.shape();
  if (s.empty()) return 1;
  if (s.size() == 1) return s[0];
  return CheckedProduct(std::span(s.data(), s.size() - 1)).value_or(0);
}

Result<uint64_t> ConvertedBytes(const ConvertInput& in, const RecipeType& stored) {
  RETURN_IF_ERROR(CheckRanges(in));
  uint64_t rows = 0;
  for (const RowRange& r : RangesOf(in)) rows += r.end - r.begin;
  if (CopiesBytes(in, stored)) {
    ASSIGN_OR_RETURN(uint64_t row_bytes, RawRowBytes(*in.tensor));
    return rows * row_bytes;  // at most the tensor's size
  }
  auto bytes = QuantTensorBytes(*stored.type, rows, TensorRowLength(*in.tensor));
  if (!bytes.ok()) return bytes.status().WithContext(in.tensor->name);
  return bytes;
}

Status ConvertRows(const ConvertInput& in, const RecipeType& stored, ByteSink& sink) {
  RETURN_IF_ERROR(CheckRanges(in));
  const CheckpointTensor& t = *in.tensor;
  if (CopiesBytes(in, stored)) {
    ASSIGN_OR_RETURN(uint64_t row_bytes, RawRowBytes(t));
    for (const RowRange& r : RangesOf(in)) {
      for (uint64_t off = r.begin * row_bytes; off < r.end * row_bytes; off += kCopyChunk) {
        RETURN_IF_ERROR(t.CopyBytesTo(off, std::min(kCopyChunk, r.end * row_bytes - off), sink));
      }
    }
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(RowDecoder decoder, RowDecoder::Make(in));
  const uint64_t len = decoder.row_length();
  std::span<const float> importance;
  if (in.importance) {
    if (in.importance->size() != len) {
      return Status::Internal("tensor \"{}\": {} importance values for rows of {}", t.name,
                              in.importance->size(), len);
    }
    importance = *in.importance;
  }
  const uint64_t slab = std::max<uint64_t>(1, len ? kSlabFloats / len : 1);
  thread_local std::vector<float> values;
  thread_local std::vector<uint8_t> encoded;
  for (const RowRange& r : RangesOf(in)) {
    for (uint64_t row = r.begin; row < r.end; row += slab) {
      const uint64_t n = std::min(slab, r.end - row);
      values.resize(n * len);
      RETURN_IF_ERROR(decoder.Decode(row, row + n, values.data()));
      ASSIGN_OR_RETURN(uint64_t bytes, QuantTensorBytes(*stored.type, n, len));
      encoded.resize(bytes);
      Status st = QuantizeRowsWeighted(*stored.type, values, len, importance, encoded);
      if (!st.ok()) {
        return st.WithContext(fmt::format("tensor \"{}\" rows [{}, {})", t.name, row, row + n));
      }
      RETURN_IF_ERROR(sink.Write(encoded));
      auto [off, length] = decoder.SourceSpan(row, row + n);
      ReleasePages(t, off, length);
    }
  }
  // Buffers stay at their high-water mark per thread; shrink ones a huge row grew.
  if (values.capacity() > 4 * kSlabFloats) std::vector<float>().swap(values);
  if (encoded.capacity() > 16 * kSlabFloats) std::vector<uint8_t>().swap(encoded);
  return Status::Ok();
}

Status DecodeRowsToF32(const ConvertInput& in, uint64_t begin, uint64_t end, float* out) {
  ASSIGN_OR_RETURN(RowDecoder decoder, RowDecoder::Make(in));
  if (begin > end || end > TensorRows(*in.tensor)) {
    return Status::InvalidArgument("tensor \"{}\": rows [{}, {}) out of range", in.tensor->name,
                                   begin, end);
  }
  return decoder.Decode(begin, end, out);
}

}  // namespace moedist
