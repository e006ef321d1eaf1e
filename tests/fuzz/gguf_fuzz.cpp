// libFuzzer target: the strict GGUF reader (formats/gguf_reader.h) on arbitrary bytes.
//
// Besides "no crash, no sanitizer report", it checks one property: a file the reader accepts is
// the canonical encoding of what it holds, so writing the parsed metadata and tensors back with
// formats/gguf_writer.h reproduces the input byte for byte (for version-3 files with an
// alignment of at least 8, the writer's range). Seeds: tests/fuzz/corpus/gguf/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "core/byte_sink.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"

namespace {

class VectorSink final : public moedist::ByteSink {
 public:
  moedist::Status Write(std::span<const uint8_t> b) override {
    bytes.insert(bytes.end(), b.begin(), b.end());
    return moedist::Status::Ok();
  }
  std::vector<uint8_t> bytes;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace moedist;
  const std::span<const uint8_t> input(data, size);
  auto file = GgufFile::Parse(nullptr, input, "fuzz");
  if (!file.ok()) return 0;
  const GgufFile& f = **file;
  size_t touched = 0;
  for (const GgufKv& kv : f.metadata()) touched += GgufValueToString(kv.value, 4).size();
  std::vector<GgufTensorSource> sources;
  for (const GgufTensorInfo& t : f.tensors()) {
    auto view = f.TensorBytes(t);
    if (!view.empty()) touched += view.front() + view.back();
    sources.push_back(GgufSourceFromBytes(t.name, t.type, t.ne, view));
  }
  volatile size_t keep = touched;  // the views and strings were really read
  (void)keep;
  if (f.version() != 3 || f.alignment() < 8) return 0;
  GgufWriteOptions options;
  options.allow_nested_arrays = true;
  VectorSink out;
  Status st = WriteGguf(f.metadata(), std::move(sources), out, options);
  if (!st.ok() || out.bytes.size() != size || !std::equal(out.bytes.begin(), out.bytes.end(), data)) {
    abort();  // accepted but not canonical: reader and writer disagree about the format
  }
  return 0;
}
