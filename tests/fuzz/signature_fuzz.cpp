// libFuzzer target: ParseSignature (distribution.json.sig) and Base64DecodeStrict on arbitrary
// bytes, then VerifyDetachedSignature of an accepted signature over fixed manifest bytes with a
// fixed key. Promises checked: an accepted signature file re-serialises to one the parser
// accepts with the same fields; strict base64 has one spelling per byte string (decode then
// encode gives the input back); and a signature verifies only if it is the one canonical
// spelling of the real signature (Ed25519 as OpenSSL checks it is not malleable), so no
// mutation of a valid .sig is ever accepted.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "manifest/release_signing.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// A throwaway Ed25519 key made for this target (openssl genpkey -algorithm ed25519); it signs
// nothing but kManifest, so it is no secret. Fixed so the seed corpus can hold a valid .sig.
constexpr std::string_view kKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEICgcLMm3Kyi39VX19vXyS8EKG+JH/JpubtT81JxRuvoA\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kManifest = "{\"fuzz\": \"manifest\"}\n";

struct Fixture {
  moedist::PrivateKey key;
  std::string signature_base64;  // the valid signature of kManifest
};

const Fixture& GetFixture() {
  static const Fixture f = [] {
    auto key = moedist::PrivateKey::FromPem(kKeyPem, "signature_fuzz key");
    if (!key.ok()) moedist::fuzz::Fail(key.status().ToString());
    auto sig = key->Sign({reinterpret_cast<const uint8_t*>(kManifest.data()), kManifest.size()});
    if (!sig.ok()) moedist::fuzz::Fail(sig.status().ToString());
    return Fixture{*key, moedist::Base64Encode(*sig)};
  }();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using moedist::fuzz::Fail;
  const Fixture& fx = GetFixture();
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto raw = moedist::Base64DecodeStrict(text);
  if (raw.ok() && moedist::Base64Encode(*raw) != text) Fail("base64 with two spellings");

  auto sig = moedist::ParseSignature(text, "fuzz/distribution.json.sig");
  if (!sig.ok()) return 0;
  const std::string bytes = moedist::SerializeSignature(*sig);
  auto again = moedist::ParseSignature(bytes, "fuzz/reserialised.sig");
  if (!again.ok()) Fail("own serialisation refused: " + again.status().ToString());
  if (again->algorithm != sig->algorithm || again->key_id != sig->key_id ||
      again->signature_base64 != sig->signature_base64) {
    Fail("serialisation changed a field");
  }
  const moedist::Status verified = moedist::VerifyDetachedSignature(
      {reinterpret_cast<const uint8_t*>(kManifest.data()), kManifest.size()}, *sig,
      {fx.key.public_key()}, "fuzz/distribution.json", "fuzz/distribution.json.sig");
  if (verified.ok() &&
      (sig->signature_base64 != fx.signature_base64 || sig->key_id != fx.key.key_id())) {
    Fail("a signature other than the real one verified");
  }
  return 0;
}
