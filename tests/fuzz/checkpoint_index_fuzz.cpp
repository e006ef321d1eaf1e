// libFuzzer target: the model.safetensors.index.json parsers on arbitrary text (reliability
// row 9). Any input must give an index or an error. An index accepted by the strict parser names
// only plain shard file names that cannot leave the checkpoint directory; the node-bundle
// parser (docs/formats/bundle.md) may also name "../<bundle>/<file>", nothing further out.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "formats/hf_checkpoint.h"

namespace {

bool PlainName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos;
}

// "../<bundle>/<file>" with both parts plain.
bool SiblingBundleName(std::string_view name) {
  if (!name.starts_with("../")) return false;
  name.remove_prefix(3);
  const size_t slash = name.find('/');
  return slash != std::string_view::npos && PlainName(name.substr(0, slash)) &&
         PlainName(name.substr(slash + 1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto index = moedist::ParseCheckpointIndex(text, "fuzz/model.safetensors.index.json");
  if (index.ok()) {
    if (index->tensors_by_shard.empty()) std::abort();
    for (const auto& [shard, tensors] : index->tensors_by_shard) {
      if (!PlainName(shard) || tensors.empty()) std::abort();
    }
    if (!index->aliases.empty() || !index->stacks.empty()) std::abort();
  }
  auto node = moedist::ParseNodeCheckpointIndex(text, "fuzz/node/model.safetensors.index.json");
  if (node.ok()) {
    for (const auto& [shard, tensors] : node->tensors_by_shard) {
      if (!PlainName(shard) && !SiblingBundleName(shard)) std::abort();
    }
    for (const auto& [name, stack] : node->stacks) {
      for (const auto& part : stack.parts) {
        if (!PlainName(part.shard) && !SiblingBundleName(part.shard)) std::abort();
        if (part.end < part.begin) std::abort();
      }
    }
  }
  return 0;
}
