// libFuzzer target: VerifyRelease against byte mutations of a signed release (reliability rows
// 17-24). At startup a small release (three bundles, two nodes) is built with BuildDistribution
// and signed with a fresh key in a scratch directory. Each input is
//   byte 0        which file to mutate (modulo the number of files, manifest and .sig included)
//   then triples  offset (2 bytes, little-endian, modulo size + 8: past the end extends the file)
//                 and the byte to write there
// The mutated release is verified with the public key; the promise checked is that verify
// passes only when every file still has its original bytes (a write of the same byte is no
// change), with one exception by design: distribution.json.sig is not itself signed or hashed,
// and ParseSignature judges its fields, not its layout, so a .sig whose JSON differs only in
// whitespace (the same three fields) may pass. The file is restored after each run.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "manifest/build_distribution.h"
#include "manifest/release_signing.h"
#include "manifest/release_time.h"
#include "manifest/release_verify.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;
using moedist::fuzz::Fail;

struct Release {
  fs::path dir;
  std::vector<moedist::PublicKey> keys;
  std::map<std::string, std::string> files;  // path relative to dir -> original bytes
};

std::string Blob(char seed, size_t n) {
  std::string s(n, '\0');
  uint32_t x = 2166136261u ^ static_cast<uint8_t>(seed);
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

Release BuildRelease() {
  Release r;
  r.dir = moedist::fuzz::ScratchDir("verify") / "dist";
  const std::map<std::string, std::string> bundle_files = {
      {"trunk/config.json", "{\"model_type\": \"qwen3_moe\"}\n"},
      {"trunk/model.safetensors", Blob('t', 600)},
      {"group-0/experts.safetensors", Blob('0', 300)},
      {"group-1/experts.safetensors", Blob('1', 300)},
      {"group-1/empty.bin", ""},
  };
  for (const auto& [path, bytes] : bundle_files) {
    fs::create_directories((r.dir / path).parent_path());
    moedist::fuzz::WriteFile(r.dir / path, bytes);
  }
  moedist::DistributionSections s;
  s.release = {"fuzz-release", 3, "2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z"};
  s.source.family = "qwen3_moe";
  s.partition = {{"layers", {{"0", {{"groups", {{0, 1}, {2, 3}}}, {"overlay", {4}}}}}}};
  s.nodes = {{"node-0", {"trunk", "group-0"}, {{"group", 0}}},
             {"node-1", {"trunk", "group-1"}, {{"group", 1}}}};
  auto d = moedist::BuildDistribution(r.dir.string(), s, {.threads = 1});
  if (!d.ok()) Fail("cannot build the release: " + d.status().ToString());
  auto key = moedist::PrivateKey::Generate();
  if (!key.ok()) Fail(key.status().ToString());
  auto signed_release = moedist::SignRelease(r.dir.string(), *key);
  if (!signed_release.ok()) Fail("cannot sign: " + signed_release.status().ToString());
  r.keys = {key->public_key()};
  for (const auto& e : fs::recursive_directory_iterator(r.dir)) {
    if (!e.is_regular_file()) continue;
    r.files[e.path().lexically_relative(r.dir).string()] = moedist::fuzz::ReadFile(e.path());
  }
  return r;
}

moedist::VerifyReport Verify(const Release& r) {
  moedist::VerifyOptions o;
  o.dist_dir = r.dir.string();
  o.trusted_keys = r.keys;
  o.now = moedist::ParseRfc3339Utc("2026-01-01T00:00:00Z", "now").value();
  o.threads = 1;
  return moedist::VerifyRelease(o);
}

// True when `path` is the .sig and both texts parse to the same fields.
bool SameSignatureFields(const std::string& path, const std::string& a, const std::string& b) {
  if (path != moedist::kSignatureFileName) return false;
  auto x = moedist::ParseSignature(a, "mutated .sig");
  auto y = moedist::ParseSignature(b, "original .sig");
  return x.ok() && y.ok() && x->algorithm == y->algorithm && x->key_id == y->key_id &&
         x->signature_base64 == y->signature_base64;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Release release = [] {
    Release r = BuildRelease();
    if (!Verify(r).ok()) Fail("the untouched release does not verify");
    return r;
  }();
  if (size == 0) return 0;
  auto it = release.files.begin();
  std::advance(it, data[0] % release.files.size());
  const std::string& original = it->second;
  std::string bytes = original;
  for (size_t i = 1; i + 3 <= size; i += 3) {
    const size_t offset = (data[i] | (size_t{data[i + 1]} << 8)) % (original.size() + 8);
    if (offset >= bytes.size()) bytes.resize(offset + 1, '\0');
    bytes[offset] = static_cast<char>(data[i + 2]);
  }
  const fs::path path = release.dir / it->first;
  moedist::fuzz::WriteFile(path, bytes);
  const moedist::VerifyReport report = Verify(release);
  moedist::fuzz::WriteFile(path, original);
  if (report.ok() && bytes != original && !SameSignatureFields(it->first, bytes, original)) {
    Fail("verify accepted a changed " + it->first);
  }
  return 0;
}
