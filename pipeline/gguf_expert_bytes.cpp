#include "pipeline/gguf_expert_bytes.h"

#include <charconv>
#include <regex>
#include <string>

namespace moedist {

Result<std::map<int, std::vector<uint64_t>>> GgufExpertBytes(const GgufFile& gguf,
                                                             int num_experts) {
  if (num_experts <= 0) return Status::InvalidArgument("{} experts per layer", num_experts);
  static const std::regex kExps(R"(^blk\.([0-9]+)\.ffn_(up|down|gate|gate_up)_(ch|)exps\.)");
  std::map<int, uint64_t> per_layer;
  for (const GgufTensorInfo& t : gguf.tensors()) {
    std::smatch m;
    if (!std::regex_search(t.name, m, kExps)) continue;
    if (t.ne.size() >= 2 && t.ne.back() != static_cast<uint64_t>(num_experts)) {
      return Status::FailedPrecondition("{}: tensor \"{}\" holds {} experts, the profile has {}",
                                        gguf.path(), t.name, t.ne.back(), num_experts);
    }
    int layer = 0;
    const std::string digits = m[1].str();
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), layer);
    if (ec != std::errc()) {
      return Status::Corruption("{}: tensor \"{}\": layer {} out of range", gguf.path(), t.name,
                                digits);
    }
    per_layer[layer] += t.num_bytes;
  }
  if (per_layer.empty()) {
    return Status::FailedPrecondition("{}: no routed-expert tensor (blk.N.ffn_*_exps)",
                                      gguf.path());
  }
  std::map<int, std::vector<uint64_t>> out;
  const uint64_t n = static_cast<uint64_t>(num_experts);
  for (const auto& [layer, bytes] : per_layer) {
    std::vector<uint64_t>& v = out[layer];
    // The remainder goes to the first experts, so a layer's bytes add up exactly.
    for (uint64_t e = 0; e < n; ++e) v.push_back(bytes / n + (e < bytes % n ? 1 : 0));
  }
  return out;
}

}  // namespace moedist
