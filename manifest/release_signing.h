// Ed25519 keys and detached signatures over the exact bytes of distribution.json
// (docs/formats/distribution.md, "Signature"). The signature file distribution.json.sig is
//   {"algorithm":"ed25519","key_id":"<64 hex>","signature":"<base64, 64 bytes>"}
// with sorted keys and a trailing newline; key_id is the SHA-256 of the raw 32-byte public key.
// Keys are PEM (PKCS#8 private, SubjectPublicKeyInfo public) as OpenSSL writes them, so
// `openssl pkey` can inspect them. The private key file is created with mode 0600 and published
// atomically; its bytes are wiped from memory after use.
// Thread safety: key objects are immutable after loading and may be shared for verification.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace moedist {

inline constexpr std::string_view kSignatureAlgorithm = "ed25519";
inline constexpr uint64_t kMaxSignatureFileBytes = 4096;
inline constexpr uint64_t kMaxKeyFileBytes = 64 * 1024;

// Strict standard base64 with padding: no whitespace, no missing or extra padding, canonical
// trailing bits, so one signature has exactly one spelling.
std::string Base64Encode(std::span<const uint8_t> bytes);
Result<std::vector<uint8_t>> Base64DecodeStrict(std::string_view text);

class PublicKey {
 public:
  static Result<PublicKey> FromPem(std::string_view pem, std::string_view source);
  static Result<PublicKey> Load(const std::string& path);
  const std::string& key_id() const { return key_id_; }
  std::string Pem() const;
  // True when `signature` is a valid Ed25519 signature of `message` by this key.
  bool Verify(std::span<const uint8_t> message, std::span<const uint8_t> signature) const;

  struct Handle;

 private:
  std::shared_ptr<Handle> pkey_;
  std::string key_id_;
  friend class PrivateKey;
};

class PrivateKey {
 public:
  static Result<PrivateKey> Generate();
  static Result<PrivateKey> FromPem(std::string_view pem, std::string_view source);
  static Result<PrivateKey> Load(const std::string& path);
  const PublicKey& public_key() const { return public_; }
  const std::string& key_id() const { return public_.key_id(); }
  Result<std::array<uint8_t, 64>> Sign(std::span<const uint8_t> message) const;
  // PKCS#8 PEM; the caller should wipe it (OPENSSL_cleanse) once written.
  Result<std::string> Pem() const;

 private:
  std::shared_ptr<PublicKey::Handle> pkey_;
  PublicKey public_;
};

// Writes a new key pair: the private key (mode 0600) at `private_path` and the public key at
// `public_path`, each atomically. Refuses to replace an existing file unless `overwrite`.
Result<PrivateKey> GenerateKeyFiles(const std::string& private_path, const std::string& public_path,
                                    bool overwrite);

struct DetachedSignature {
  std::string algorithm;
  std::string key_id;
  std::string signature_base64;
};

std::string SerializeSignature(const DetachedSignature& sig);
// Strict: a JSON object with exactly the three string fields above. Does not judge their values.
Result<DetachedSignature> ParseSignature(std::string_view bytes, std::string_view source);

// Checks, in this order, that the algorithm is ed25519, the key id is one of `trusted`, the
// signature decodes to 64 bytes, and it verifies over `manifest_bytes`. Each refusal is a
// Corruption status naming `sig_source` and `manifest_source`.
Status VerifyDetachedSignature(std::span<const uint8_t> manifest_bytes,
                               const DetachedSignature& sig, const std::vector<PublicKey>& trusted,
                               std::string_view manifest_source, std::string_view sig_source);

struct SignOutcome {
  std::string key_id;
  std::string signature_path;
};

// Signs <dist>/distribution.json as it is on disk (after checking it parses and follows the
// schema) and writes <dist>/distribution.json.sig atomically.
// The caller holds the release's lock or owns the directory alone.
Result<SignOutcome> SignRelease(const std::string& dist_dir, const PrivateKey& key);
// `moedist sign`: takes the release's lock (manifest/release_stage.h), then SignRelease. One
// file changes, by rename, so no staging is needed.
Result<SignOutcome> SignReleaseLocked(const std::string& dist_dir, const PrivateKey& key);

}  // namespace moedist
