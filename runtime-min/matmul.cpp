#include "runtime-min/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime-min/kernels.h"
#include "runtime-min/thread_pool.h"

namespace moedist {
namespace {

// Per-thread scratch for widened weight rows; grows to the largest row seen and is reused.
float* ThreadScratch(int64_t floats) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < floats) buf.resize(static_cast<size_t>(floats));
  return buf.data();
}

bool IsAlignedF32(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % alignof(float) == 0;
}

// Values [begin, begin + count) of stored row r as f32: the mapping itself when it is aligned
// f32, else decoded (widened or dequantized) into `scratch`.
const float* RowF32(const WeightMatrix& w, int64_t r, int64_t begin, int64_t count,
                    float* scratch) {
  if (w.type == QuantType::kF32) {
    const uint8_t* p = w.row(r) + (w.col_offset + begin) * int64_t{sizeof(float)};
    if (IsAlignedF32(p)) return reinterpret_cast<const float*>(p);
  }
  DecodeWeightRow(w, r, begin, count, scratch);
  return scratch;
}

void EnsureBlasThreads() {
  static const bool once = [] {
    openblas_set_num_threads(DefaultThreadPool().size());
    return true;
  }();
  (void)once;
}

}  // namespace

void MatMulRowwise(const float* x, int64_t n, const WeightMatrix& w, float* y) {
  ThreadPool& pool = DefaultThreadPool();
  if (!w.in_major) {
    // Stored rows are output features: y[t, o] = dot(x[t], W[o]).
    pool.ParallelFor(w.out, 16, [&](int64_t begin, int64_t end) {
      float* scratch = ThreadScratch(w.in);
      for (int64_t o = begin; o < end; ++o) {
        const float* row = RowF32(w, o, 0, w.in, scratch);
        for (int64_t t = 0; t < n; ++t) y[t * w.out + o] = Dot(x + t * w.in, row, w.in);
      }
    });
    return;
  }
  // Stored rows are input features: each thread owns a block of output columns and
  // accumulates y[t, block] += x[t, i] * W[i, block] over i, so its y block stays in cache.
  // Column blocks are whole quant blocks, so (for a view that starts on a block boundary) no
  // block is decoded by two threads.
  const int64_t unit = GetQuantTypeInfo(w.type).block_elements;
  pool.ParallelFor((w.out + unit - 1) / unit, std::max<int64_t>(1, 64 / unit),
                   [&](int64_t unit_begin, int64_t unit_end) {
                     const int64_t begin = unit_begin * unit,
                                   end = std::min(w.out, unit_end * unit);
                     const int64_t width = end - begin;
                     float* scratch = ThreadScratch(width);
                     for (int64_t t = 0; t < n; ++t)
                       std::memset(y + t * w.out + begin, 0, width * sizeof(float));
                     for (int64_t i = 0; i < w.in; ++i) {
                       const float* row = RowF32(w, i, begin, width, scratch);
                       for (int64_t t = 0; t < n; ++t)
                         Axpy(x[t * w.in + i], row, y + t * w.out + begin, width);
                     }
                   });
}

void MatMulGemm(const float* x, int64_t n, const WeightMatrix& w, float* y) {
  EnsureBlasThreads();
  const CBLAS_TRANSPOSE wt = w.in_major ? CblasNoTrans : CblasTrans;
  const uint8_t* first = w.data + w.col_offset * int64_t{sizeof(float)};
  if (w.type == QuantType::kF32 && IsAlignedF32(first) && w.row_bytes % sizeof(float) == 0) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, wt, static_cast<blasint>(n),
                static_cast<blasint>(w.out), static_cast<blasint>(w.in), 1.0f, x,
                static_cast<blasint>(w.in), reinterpret_cast<const float*>(first),
                static_cast<blasint>(w.row_bytes / int64_t{sizeof(float)}), 0.0f, y,
                static_cast<blasint>(w.out));
    return;
  }
  // Decode a block of output features at a time, then one sgemm per block.
  const int64_t block = std::max<int64_t>(1, std::min(w.out, kConvertBlockFloats / w.in));
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < block * w.in) buf.resize(block * w.in);
  float* wb = buf.data();
  ThreadPool& pool = DefaultThreadPool();
  for (int64_t o0 = 0; o0 < w.out; o0 += block) {
    const int64_t ob = std::min(block, w.out - o0);
    if (!w.in_major) {  // rows o0..o0+ob of [out, in] → wb [ob, in]
      pool.ParallelFor(ob, 8, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) DecodeWeightRow(w, o0 + o, 0, w.in, wb + o * w.in);
      });
    } else {  // columns o0..o0+ob of [in, out] → wb [in, ob]
      pool.ParallelFor(w.in, 8, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) DecodeWeightRow(w, i, o0, ob, wb + i * ob);
      });
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, wt, static_cast<blasint>(n), static_cast<blasint>(ob),
                static_cast<blasint>(w.in), 1.0f, x, static_cast<blasint>(w.in), wb,
                static_cast<blasint>(w.in_major ? ob : w.in), 0.0f, y + o0,
                static_cast<blasint>(w.out));
  }
}

void MatMul(const float* x, int64_t n, const WeightMatrix& w, float* y) {
  if (n <= 0 || w.out == 0) return;
  if (n < kGemmMinRows) return MatMulRowwise(x, n, w, y);
  MatMulGemm(x, n, w, y);
}

}  // namespace moedist
