// libFuzzer target: ParseModelConfig on arbitrary text (reliability row 10). Any input must give
// a config or an error; an accepted config must be internally consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "formats/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto c = moedist::ParseModelConfig(text, "fuzz/config.json");
  if (!c.ok()) return 0;
  // Invariants later stages rely on.
  if (c->num_layers <= 0 || static_cast<int>(c->is_moe_layer.size()) != c->num_layers) std::abort();
  if (static_cast<int>(c->attention.rope_layers.size()) != c->num_layers) std::abort();
  if (c->routing.num_experts <= 0 || c->routing.top_k <= 0) std::abort();
  if (c->routing.top_k > c->routing.num_experts) std::abort();
  if (c->num_moe_layers() <= 0) std::abort();
  if (c->attention.num_kv_heads <= 0 || c->attention.num_heads % c->attention.num_kv_heads != 0) {
    std::abort();
  }
  if (c->hidden_size <= 0 || c->moe_intermediate_size <= 0 || c->shared_intermediate_size < 0) {
    std::abort();
  }
  return 0;
}
