// libFuzzer target: the safetensors header parser on arbitrary bytes (reliability rows 1–8).
// Any input must give a value or an error; never a crash, a sanitizer report, or a view
// outside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "formats/safetensors_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  auto file = moedist::SafetensorsFile::Parse(nullptr, bytes, "fuzz");
  if (!file.ok()) return 0;
  // Accepted: every view lies inside the input and the views tile the data section.
  uint64_t covered = 0;
  for (const moedist::SafetensorsTensor& t : (*file)->tensors()) {
    auto view = (*file)->TensorBytes(t);
    if (view.size() != t.num_bytes()) std::abort();
    if (view.size() > 0 && (view.data() < data || view.data() + view.size() > data + size)) {
      std::abort();
    }
    if ((*file)->Find(t.name) != &t) std::abort();
    covered += view.size();
  }
  if ((*file)->data_offset() + covered != size) std::abort();
  return 0;
}
