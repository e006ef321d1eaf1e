// Quantize, dequantize and dot product for every QuantType, with checked sizes: the API the
// pipeline (packing) and the runtime (matmul over quantized weights) call.
//
// Rows: all these formats encode blocks independently, so a tensor [rows, n] is quantized as
// rows * n consecutive values; the row length only has to be a multiple of the type's block.
// Quantized output is byte-identical to ggml's quantize_row_*_ref (q8_0, q4_0, q2_k, q3_k, q4_k,
// q5_k, q6_k) and to ggml's f16/bf16 rounding; dequantized output equals ggml's
// dequantize_row_* bit for bit.
//
// Errors are values: a row length that is not a multiple of the block, buffers of the wrong
// size, and non-finite inputs (NaN or infinity in a weight is a broken checkpoint, never
// something to encode silently; reliability.md row 38) are InvalidArgument naming the index.
// Thread safety: pure functions; callers parallelise over disjoint rows.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"
#include "quant/quant_type.h"

namespace moedist {

// Quantizes a [src.size() / row_length, row_length] tensor into dst, which must hold exactly
// QuantTensorBytes(type, rows, row_length) bytes.
Status QuantizeRows(QuantType type, std::span<const float> src, uint64_t row_length,
                    std::span<uint8_t> dst);
// QuantizeRows weighting each value's error by an importance per column (llama.cpp's imatrix:
// the mean square of the activations each column meets), byte-identical to ggml's
// quantize_<type>(src, dst, rows, row_length, importance). `importance` holds row_length finite
// values >= 0 (anything else is InvalidArgument), or is empty, which is QuantizeRows exactly
// (ggml's _ref path). Weights change q4_0 and the k-quants; f32, f16, bf16 and q8_0 ignore them,
// as ggml does.
Status QuantizeRowsWeighted(QuantType type, std::span<const float> src, uint64_t row_length,
                            std::span<const float> importance, std::span<uint8_t> dst);
// One row: QuantizeRows with row_length = src.size().
Status QuantizeRow(QuantType type, std::span<const float> src, std::span<uint8_t> dst);

// Decodes dst.size() values; src must hold exactly their bytes (a whole number of blocks).
// Stored values are decoded as they are, infinities included (a q4_0 scale can overflow f16).
Status DequantizeRow(QuantType type, std::span<const uint8_t> src, std::span<float> dst);

// row · x for one quantized row of x.size() values, accumulated in f32 block by block (each
// block dequantized exactly as DequantizeRow would, then multiplied). Its result differs from
// ggml's integer kernels (which first round x to 8 bits) by their activation rounding error.
Result<float> DotRow(QuantType type, std::span<const uint8_t> row, std::span<const float> x);

}  // namespace moedist
