#include "runtime-min/weight_matrix.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <span>

#include "quant/quantize.h"
#include "runtime-min/kernels.h"

namespace moedist {
namespace {

constexpr int64_t kMaxBlockValues = 256;  // k-quant super-blocks, the largest in the table

DType PlainDType(QuantType type) {
  switch (type) {
    case QuantType::kF16: return DType::kF16;
    case QuantType::kBF16: return DType::kBF16;
    default: return DType::kF32;
  }
}

// `blocks` whole blocks at `src` → dst. The loader checked every size, so DequantizeRow cannot
// refuse; if it ever did, the values become NaN, which Forward's finite check reports, rather
// than garbage.
void DecodeBlocks(QuantType type, const QuantTypeInfo& info, const uint8_t* src, int64_t blocks,
                  float* dst) {
  const size_t values = static_cast<size_t>(blocks) * info.block_elements;
  Status st = DequantizeRow(type, std::span(src, static_cast<size_t>(blocks) * info.block_bytes),
                            std::span(dst, values));
  if (!st.ok()) std::fill_n(dst, values, std::numeric_limits<float>::quiet_NaN());
}

}  // namespace

void DecodeWeightRow(const WeightMatrix& w, int64_t r, int64_t begin, int64_t count, float* dst) {
  const QuantTypeInfo& info = GetQuantTypeInfo(w.type);
  const uint8_t* row = w.row(r);
  const int64_t first = w.col_offset + begin, end = first + count;
  if (info.block_elements == 1) {
    ConvertToF32(row + first * info.block_bytes, PlainDType(w.type), count, dst);
    return;
  }
  const int64_t per = info.block_elements;
  float partial[kMaxBlockValues];
  for (int64_t pos = first; pos < end;) {
    const int64_t block = pos / per, skip = pos - block * per;
    const uint8_t* src = row + block * info.block_bytes;
    if (skip == 0 && end - pos >= per) {  // whole blocks straight into dst
      const int64_t blocks = (end - pos) / per;
      DecodeBlocks(w.type, info, src, blocks, dst + (pos - first));
      pos += blocks * per;
    } else {  // a block the range covers only partly (a column slice or a thread's edge)
      DecodeBlocks(w.type, info, src, 1, partial);
      const int64_t take = std::min(per - skip, end - pos);
      std::memcpy(dst + (pos - first), partial + skip, static_cast<size_t>(take) * sizeof(float));
      pos += take;
    }
  }
}

}  // namespace moedist
