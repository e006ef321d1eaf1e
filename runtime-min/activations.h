// Activations: the reusable f32 buffers of one sequence's forward pass (llama2.c's RunState).
// Each buffer grows to the largest call seen and is then reused, so steady-state decoding
// allocates nothing. Shapes are for a call of n tokens.
#pragma once

#include <cstddef>
#include <vector>

#include "runtime-min/router.h"

namespace moedist {

struct Activations {
  std::vector<float> x;       // [n, H] residual stream
  std::vector<float> xn;      // [n, H] normed input of a block
  std::vector<float> branch;  // [n, H] output of a block, added to x
  // attention
  std::vector<float> q;       // [n, nh * qk_dim]
  std::vector<float> k, v;    // [n, kvh * hd] (MLA: kv_b output [n, nh * (nope + v)])
  std::vector<float> latent;  // MLA: q_a output [n, q_lora]
  std::vector<float> kv_a;    // MLA: [n, kv_lora + rope]
  std::vector<float> att;     // [n, nh * v_dim] attention output before o_proj
  // feed-forward
  std::vector<float> gate, up;   // [m, I]
  std::vector<float> rows_in;    // [m, H] tokens gathered for one expert
  std::vector<float> rows_out;   // [m, H]
  std::vector<float> shared_gate;// [n]
  std::vector<float> logits;     // [n, V] (or [1, V])
  RoutingResult routing;         // the current MoE layer's routing
};

// Grows `buf` to at least `n` floats and returns its data.
inline float* Grow(std::vector<float>& buf, size_t n) {
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

}  // namespace moedist
