// The part of attention both kinds share: softmax(scale · q·k) · v over cached positions.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "runtime-min/attention.h"
#include "runtime-min/kernels.h"
#include "runtime-min/thread_pool.h"

namespace moedist {

int AttentionSpan::first_visible(int p) const {
  int lo = 0;
  if (sliding_window > 0) lo = std::max(lo, p - sliding_window + 1);
  if (chunk > 0) lo = std::max(lo, p / chunk * chunk);
  return lo;
}

void AttendCached(const float* q, int n, int pos0, int num_heads, const KvCache& kv, int layer,
                  float scale, AttentionSpan span, float* out) {
  const int group = num_heads / kv.heads(), kd = kv.k_dim(), vd = kv.v_dim();
  // One task per (token, head); each reads its own rows of the cache.
  DefaultThreadPool().ParallelFor(int64_t(n) * num_heads, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> scores;
    for (int64_t task = begin; task < end; ++task) {
      const int t = static_cast<int>(task / num_heads), h = static_cast<int>(task % num_heads);
      const int p = pos0 + t, lo = span.first_visible(p), kvh = h / group;
      const float* qh = q + task * kd;
      scores.resize(p - lo + 1);
      float mx = -std::numeric_limits<float>::infinity();
      for (int j = lo; j <= p; ++j) {
        const float s = Dot(qh, kv.k(layer, j) + kvh * kd, kd) * scale;
        scores[j - lo] = s;
        mx = std::max(mx, s);
      }
      double sum = 0;
      for (float& s : scores) {
        s = std::exp(s - mx);
        sum += s;
      }
      const float inv = static_cast<float>(1.0 / sum);
      float* o = out + task * vd;
      std::memset(o, 0, vd * sizeof(float));
      for (int j = lo; j <= p; ++j) Axpy(scores[j - lo] * inv, kv.v(layer, j) + kvh * vd, o, vd);
    }
  });
}

}  // namespace moedist
