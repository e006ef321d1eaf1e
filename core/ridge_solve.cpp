#include "core/ridge_solve.h"

#include <cmath>

namespace moedist {

void RidgeSystem::Add(const float* a, const float* b, double weight) {
  ++rows_;
  for (int64_t i = 0; i < n_; ++i) {
    const double wa = weight * a[i];
    if (wa == 0) continue;
    double* row = ata_.data() + i * n_;
    for (int64_t j = i; j < n_; ++j) row[j] += wa * a[j];
    double* brow = atb_.data() + i * m_;
    for (int64_t j = 0; j < m_; ++j) brow[j] += wa * b[j];
  }
}

Result<std::vector<float>> RidgeSystem::Solve(double ridge) const {
  if (rows_ == 0) return Status::FailedPrecondition("ridge fit: no rows were added");
  std::vector<double> a(ata_);
  double trace = 0;
  for (int64_t i = 0; i < n_; ++i) {
    for (int64_t j = 0; j < i; ++j) a[i * n_ + j] = a[j * n_ + i];
    trace += a[i * n_ + i];
  }
  const double lambda = ridge * (trace > 0 ? trace / double(n_) : 1.0);
  for (int64_t i = 0; i < n_; ++i) a[i * n_ + i] += lambda;
  // Cholesky A = L Lᵀ in place (lower triangle).
  for (int64_t j = 0; j < n_; ++j) {
    double d = a[j * n_ + j];
    for (int64_t k = 0; k < j; ++k) d -= a[j * n_ + k] * a[j * n_ + k];
    if (!(d > 0)) {
      return Status::FailedPrecondition("ridge fit: the normal matrix is singular at row {}", j);
    }
    const double l = std::sqrt(d);
    a[j * n_ + j] = l;
    for (int64_t i = j + 1; i < n_; ++i) {
      double s = a[i * n_ + j];
      for (int64_t k = 0; k < j; ++k) s -= a[i * n_ + k] * a[j * n_ + k];
      a[i * n_ + j] = s / l;
    }
  }
  // Solve L Lᵀ X = B column by column; W = Xᵀ.
  std::vector<float> w(static_cast<size_t>(m_ * n_));
  std::vector<double> y(static_cast<size_t>(n_));
  for (int64_t c = 0; c < m_; ++c) {
    for (int64_t i = 0; i < n_; ++i) {
      double s = atb_[i * m_ + c];
      for (int64_t k = 0; k < i; ++k) s -= a[i * n_ + k] * y[k];
      y[i] = s / a[i * n_ + i];
    }
    for (int64_t i = n_ - 1; i >= 0; --i) {
      double s = y[i];
      for (int64_t k = i + 1; k < n_; ++k) s -= a[k * n_ + i] * y[k];
      y[i] = s / a[i * n_ + i];
    }
    for (int64_t i = 0; i < n_; ++i) w[c * n_ + i] = float(y[i]);
  }
  return w;
}

}  // namespace moedist
