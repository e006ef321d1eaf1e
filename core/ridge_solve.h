// Ridge least squares through the normal equations: the small dense solves that fitting
// stand-in experts needs (a router row over the hidden width, a down projection over an
// expert's width), in double precision.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace moedist {

// Accumulates Σ s·a aᵀ and Σ s·a bᵀ for rows a [n] and targets b [m]; Solve() returns the
// [m, n] matrix W minimising Σ s ||W a − b||² + λ ||W||², λ = ridge × mean diagonal of Σ s a aᵀ.
class RidgeSystem {
 public:
  RidgeSystem(int64_t n, int64_t m) : n_(n), m_(m), ata_(size_t(n * n)), atb_(size_t(n * m)) {}

  void Add(const float* a, const float* b, double weight);
  int64_t rows() const { return rows_; }

  // FailedPrecondition when no row was added or the system is singular even with the ridge.
  Result<std::vector<float>> Solve(double ridge) const;

 private:
  int64_t n_, m_, rows_ = 0;
  std::vector<double> ata_;  // [n, n] (upper triangle accumulated, mirrored in Solve)
  std::vector<double> atb_;  // [n, m]
};

}  // namespace moedist
