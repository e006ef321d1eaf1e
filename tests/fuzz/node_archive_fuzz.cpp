// libFuzzer target: UnpackNode (a node archive .tar.zst, docs/formats/archive.md) on arbitrary
// bytes, unsigned mode so the fuzzer reaches past the signature into the manifest, the index and
// the members. UnpackNode only takes a path, so the input is written to a scratch file first.
// An input that does not start with the zstd magic is taken as an uncompressed tar and
// compressed (level 1, on this thread: a zstd worker thread costs more than the run) before
// writing: mutations then act on tar headers and members rather than on compressed bytes,
// which zstd's checksum would refuse. Promises checked: a refused archive leaves no output
// directory; an accepted one holds exactly the files the manifest lists for the node, each with
// the listed size and SHA-256.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/byte_sink.h"
#include "manifest/file_digest.h"
#include "manifest/node_archive.h"
#include "manifest/release_stage.h"
#include "manifest/zstd_stream.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;
using moedist::fuzz::Fail;

class StringSink final : public moedist::ByteSink {
 public:
  moedist::Status Write(std::span<const uint8_t> bytes) override {
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return moedist::Status::Ok();
  }
  std::string out;
};

std::string Compress(std::string_view tar) {
  StringSink sink;
  auto z = moedist::ZstdCompressSink::Create(&sink, {.level = 1, .workers = 0}, "fuzz input");
  if (!z.ok()) Fail(z.status().ToString());
  if (!(*z)->Write({reinterpret_cast<const uint8_t*>(tar.data()), tar.size()}).ok() ||
      !(*z)->Finish().ok()) {
    Fail("zstd compression of the input failed");
  }
  return std::move(sink.out);
}

void CheckUnpacked(const fs::path& out) {
  auto manifest = moedist::ReadManifestFile((out / "distribution.json").string());
  if (!manifest.ok()) Fail("unpacked release lacks its manifest: " + manifest.status().ToString());
  auto d = moedist::ParseDistribution(*manifest, "unpacked distribution.json");
  if (!d.ok()) Fail("unpacked manifest does not parse: " + d.status().ToString());
  size_t expected = 2;  // distribution.json and its signature
  for (const auto& [name, bundle] : d->bundles) {
    if (!fs::exists(out / name)) continue;  // not one of the node's bundles
    for (const moedist::ManifestFile& f : bundle.files) {
      const std::string bytes = moedist::fuzz::ReadFile(out / name / f.path);
      auto sha = moedist::Sha256Hex(bytes);
      if (bytes.size() != f.size || !sha.ok() || *sha != f.sha256) {
        Fail("unpacked file differs from the manifest: " + name + "/" + f.path);
      }
      ++expected;
    }
  }
  size_t found = 0;
  for (const auto& e : fs::recursive_directory_iterator(out)) found += e.is_regular_file();
  if (found != expected) Fail("unpacked directory holds files the manifest does not list");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path dir = moedist::fuzz::ScratchDir("node_archive");
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const bool zstd = input.starts_with("\x28\xb5\x2f\xfd");
  const fs::path archive = dir / "node.tar.zst";
  moedist::fuzz::WriteFile(archive, zstd ? std::string(input) : Compress(input));
  const fs::path out = dir / "out";
  fs::remove_all(out);
  moedist::UnpackOptions o;
  o.archive_path = archive.string();
  o.out_dir = out.string();
  o.allow_unsigned = true;
  auto report = moedist::UnpackNode(o);
  if (!report.ok()) {
    if (fs::exists(out)) Fail("a refused archive left its output directory");
    // The release lock beside out/ (manifest/release_stage.h) holds nothing and may stay.
    const fs::path lock = moedist::ReleaseLockPath(out.string());
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path() != archive && e.path() != lock) {
        Fail("a refused archive left " + e.path().string());
      }
    }
    return 0;
  }
  CheckUnpacked(out);
  fs::remove_all(out);
  return 0;
}
