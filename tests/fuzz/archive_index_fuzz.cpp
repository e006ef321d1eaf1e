// libFuzzer target: ParseArchiveIndex (moedist-archive.json, docs/formats/archive.md) on
// arbitrary bytes. Any input must give an index or an error. An accepted index has the one
// chunk size, at most kMaxPlaneRangesPerFile ranges per file, and serialises to bytes the
// parser accepts as the same index.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "manifest/archive_index.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using moedist::fuzz::Fail;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto index = moedist::ParseArchiveIndex(text, "fuzz/moedist-archive.json");
  if (!index.ok()) return 0;
  if (index->plane_chunk_bytes != moedist::kPlaneChunkBytes) Fail("other chunk size accepted");
  for (const auto& [member, ranges] : index->byte_planes) {
    if (ranges.size() > moedist::kMaxPlaneRangesPerFile) Fail("too many ranges accepted");
  }
  const std::string bytes = moedist::SerializeArchiveIndex(*index);
  auto again = moedist::ParseArchiveIndex(bytes, "fuzz/reserialised.json");
  if (!again.ok()) Fail("own serialisation refused: " + again.status().ToString());
  if (again->node != index->node || again->release_name != index->release_name ||
      again->release_version != index->release_version ||
      again->manifest_sha256 != index->manifest_sha256 ||
      again->byte_planes != index->byte_planes) {
    Fail("serialisation changed the index");
  }
  if (moedist::SerializeArchiveIndex(*again) != bytes) Fail("serialisation not stable");
  return 0;
}
