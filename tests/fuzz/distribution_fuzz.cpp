// libFuzzer target: ParseDistribution (distribution.json, docs/formats/distribution.md) on
// arbitrary bytes. Any input must give a manifest or an error. An accepted manifest must
// serialise to bytes the parser accepts again, with the same bytes once more (signatures cover
// exactly those bytes, so the writer and the reader must agree), and its partition must decode
// (PartitionLayers relies on the schema for the shape).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "manifest/distribution.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using moedist::fuzz::Fail;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = moedist::ParseDistribution(text, "fuzz/distribution.json");
  if (!d.ok()) return 0;
  if (d->release.version < 1) Fail("release.version < 1 accepted");
  const std::string bytes = moedist::SerializeDistribution(*d);
  auto again = moedist::ParseDistribution(bytes, "fuzz/reserialised.json");
  if (!again.ok()) Fail("own serialisation refused: " + again.status().ToString());
  if (moedist::SerializeDistribution(*again) != bytes) Fail("serialisation not stable");
  for (const auto& [layer, partition] : d->PartitionLayers()) {
    if (layer > 999999) Fail("partition layer index above the schema's 6 digits");
  }
  for (const moedist::NodeEntry& n : d->nodes) {
    if (d->FindNode(n.id) == nullptr) Fail("FindNode misses a listed node");
  }
  return 0;
}
