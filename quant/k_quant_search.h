// The scale searches the K-quant quantizers (and Q4_0 with importance weights) are built from;
// internal to quant/. Each is ggml's search of the same name (ggml-quants.c) with its constants,
// loop order and expression order: the block bytes must equal ggml's, and float arithmetic is
// not associative, so "the same maths written differently" is not good enough.
//
// Codes are returned offset to be non-negative (symmetric searches add nmax). `weights` weight
// each value's squared (or, with use_mad, absolute) error.
#pragma once

#include <cstdint>

namespace moedist::kernels {

// make_qx_quants with rmse_type 1: symmetric codes in [-nmax, nmax - 1], scale chosen to minimise
// the weighted squared error, starting from -nmax / max and trying the 18 inverse scales
// -(nmax + 0.1 k) / max, k = ±1..±9. weights == nullptr weighs each value by x². L = code + nmax.
float MakeQxQuants(int n, int nmax, const float* x, int8_t* L, const float* weights);

// make_q3_quants with do_rmse: codes in [-nmax, nmax - 1] from -nmax / max, then up to 5 passes
// of coordinate descent that move one code at a time while the x²-weighted fit improves.
// L = code + nmax.
float MakeQ3Quants(int n, int nmax, const float* x, int8_t* L);

// make_qkx2_quants: asymmetric codes in [0, nmax] with x ~ scale * L - the_min. Starts from the
// min/max fit, then tries nstep + 1 inverse scales (rmin + rdelta * is + nmax) / (max - min),
// solving the 2x2 weighted least-squares system for scale and min at each; a fit whose min would
// be positive is refitted through zero. `min` moves as fits improve and later steps use the moved
// value, as in ggml. With weights given, ggml's make_qkx3_quants is this same computation (its
// `max <= min` test equals `max == min`, since min ≤ x[0] ≤ max), so it serves both.
float MakeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                     float* the_min, uint8_t* Laux, float rmin, float rdelta, int nstep,
                     bool use_mad);

// make_qp_quants: non-negative values (the sub-block scales or mins of a super-block) as codes in
// [0, nmax] of one scale, weighted by `weights` (the sub-blocks' summed importance): the best of
// nine inverse scales (nmax + 0.1 k) / max, k = -4..4, then up to 5 passes of coordinate descent.
float MakeQpQuants(int n, int nmax, const float* x, uint8_t* L, const float* weights);

}  // namespace moedist::kernels
