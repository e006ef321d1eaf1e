// KvCache: keys and values of every layer for positions [0, length) of one sequence.
//
// Per layer, k is [capacity, heads, k_dim] and v is [capacity, heads, v_dim], f32.
//   GQA: heads = num_kv_heads, k_dim = v_dim = head_dim (after qk-norm and rope).
//   MLA: heads = num_heads, k_dim = qk_nope + qk_rope, v_dim = v_head_dim: the decompressed
//        per-head keys and values. Caching the compressed latent instead would be smaller
//        (kv_lora + rope per position); this runtime favours matching HF's arithmetic.
// Capacity grows by doubling as positions are appended. Thread safety: one sequence, one
// thread (kernels read it from the pool while the owner waits).
#pragma once

#include <cstdint>
#include <vector>

namespace moedist {

class KvCache {
 public:
  KvCache(int layers, int heads, int k_dim, int v_dim)
      : heads_(heads), k_dim_(k_dim), v_dim_(v_dim), k_(layers), v_(layers) {}

  int length() const { return length_; }
  int heads() const { return heads_; }
  int k_dim() const { return k_dim_; }
  int v_dim() const { return v_dim_; }

  // Makes room for positions [0, n).
  void Reserve(int n) {
    if (n <= capacity_) return;
    int cap = capacity_ ? capacity_ : 16;
    while (cap < n) cap *= 2;
    for (auto& k : k_) k.resize(static_cast<size_t>(cap) * heads_ * k_dim_);
    for (auto& v : v_) v.resize(static_cast<size_t>(cap) * heads_ * v_dim_);
    capacity_ = cap;
  }
  // Layer-major passes (layer_stream.h) hold one layer's keys and values at a time: room for
  // positions [0, n) of `layer` only, and freeing it once the layer is done. Not to be mixed
  // with Reserve() on the same cache.
  void ReserveLayer(int layer, int n) {
    const size_t kn = size_t(n) * heads_ * k_dim_, vn = size_t(n) * heads_ * v_dim_;
    if (k_[layer].size() < kn) k_[layer].resize(kn);
    if (v_[layer].size() < vn) v_[layer].resize(vn);
  }
  void ReleaseLayer(int layer) {
    std::vector<float>().swap(k_[layer]);
    std::vector<float>().swap(v_[layer]);
  }
  // Rows of position `pos` (all heads) of one layer.
  float* k(int layer, int pos) { return k_[layer].data() + size_t(pos) * heads_ * k_dim_; }
  float* v(int layer, int pos) { return v_[layer].data() + size_t(pos) * heads_ * v_dim_; }
  const float* k(int layer, int pos) const {
    return k_[layer].data() + size_t(pos) * heads_ * k_dim_;
  }
  const float* v(int layer, int pos) const {
    return v_[layer].data() + size_t(pos) * heads_ * v_dim_;
  }
  // Called once all layers hold the new positions.
  void set_length(int n) { length_ = n; }
  void Clear() { length_ = 0; }

 private:
  int heads_, k_dim_, v_dim_;
  int length_ = 0;
  int capacity_ = 0;
  std::vector<std::vector<float>> k_, v_;  // [layer]
};

}  // namespace moedist
