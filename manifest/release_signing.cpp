#include "manifest/release_signing.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "manifest/distribution.h"
#include "manifest/file_digest.h"
#include "manifest/release_stage.h"

namespace moedist {

struct PublicKey::Handle {
  EVP_PKEY* pkey = nullptr;
  ~Handle() { EVP_PKEY_free(pkey); }
};

namespace {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// Wipes a string holding key material when it goes out of scope.
struct Wiped {
  std::string text;
  ~Wiped() { OPENSSL_cleanse(text.data(), text.size()); }
};

Result<std::string> RawPublicKeyId(EVP_PKEY* pkey, std::string_view source) {
  std::array<uint8_t, 32> raw{};
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, raw.data(), &len) != 1 || len != raw.size()) {
    return Status::Corruption("{}: cannot read the raw Ed25519 public key", source);
  }
  return Sha256Hex(std::span<const uint8_t>(raw.data(), len));
}

// Refuses to prompt for a passphrase: an encrypted key fails to load instead.
int NoPassphrase(char*, int, int, void*) {
  return -1;
}

Status CheckEd25519(EVP_PKEY* pkey, std::string_view source) {
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    const char* name = OBJ_nid2sn(EVP_PKEY_get_id(pkey));
    return Status::Unsupported("{}: key type is {}, expected ED25519", source,
                               name != nullptr ? name : "unknown");
  }
  return Status::Ok();
}

std::string PemOfPublic(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) return {};
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Status SyncDirectoryOf(const std::string& path) {
  std::filesystem::path p(path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0)
    return Status::IoError("{}: cannot open directory: {}", dir, std::strerror(errno));
  if (::fsync(fd.get()) != 0) {
    return Status::IoError("{}: fsync of directory failed: {}", dir, std::strerror(errno));
  }
  return Status::Ok();
}

// AtomicFile creates its temporary with mode 0644; a private key must never exist with group
// or world access, not even empty, so this writes its own 0600 temporary (same protocol:
// temp -> fsync -> rename -> fsync directory; the temporary is removed on any failure).
Status WritePrivateFileAtomically(const std::string& final_path, std::string_view content) {
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path p(final_path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  const std::string temp =
      (std::filesystem::path(dir) /
       fmt::format(".{}.tmp.{}.{}", p.filename().string(), ::getpid(), counter.fetch_add(1)))
          .string();
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    return Status::IoError("{}: cannot create temporary file {}: {}", final_path, temp,
                           std::strerror(errno));
  }
  auto fail = [&](Status st) {
    ::unlink(temp.c_str());
    return st;
  };
  if (::fchmod(fd.get(), 0600) != 0) {
    return fail(Status::IoError("{}: chmod 0600 failed: {}", temp, std::strerror(errno)));
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(Status::IoError("{}: write failed: {}", temp, std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    return fail(Status::IoError("{}: fsync failed: {}", temp, std::strerror(errno)));
  }
  if (::close(fd.release()) != 0) {
    return fail(Status::IoError("{}: close failed: {}", temp, std::strerror(errno)));
  }
  if (::rename(temp.c_str(), final_path.c_str()) != 0) {
    return fail(
        Status::IoError("{}: rename from {} failed: {}", final_path, temp, std::strerror(errno)));
  }
  return SyncDirectoryOf(final_path);
}

}  // namespace

std::string Base64Encode(std::span<const uint8_t> bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<uint32_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint32_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

Result<std::vector<uint8_t>> Base64DecodeStrict(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) {
    return Status::Corruption("base64 text of {} characters is not a multiple of 4", text.size());
  }
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool final_quad = i + 4 == text.size();
    const int pad = final_quad ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    if (pad == 1 && text[i + 2] == '=') {
      return Status::Corruption("base64: misplaced padding at character {}", i + 2);
    }
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      int x = k >= 4 - pad ? 0 : value(text[i + k]);
      if (x < 0) return Status::Corruption("base64: invalid character at position {}", i + k);
      v = v << 6 | static_cast<uint32_t>(x);
    }
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(v >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(v));
    // Canonical form: the bits below the last encoded byte must be zero.
    if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0)) {
      return Status::Corruption("base64: non-canonical trailing bits");
    }
  }
  return out;
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem, std::string_view source) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr;
  if (pkey == nullptr) {
    return Status::Corruption("{}: not a PEM public key (expected \"-----BEGIN PUBLIC KEY-----\")",
                              source);
  }
  PublicKey key;
  key.pkey_ = std::make_shared<Handle>();
  key.pkey_->pkey = pkey;
  RETURN_IF_ERROR(CheckEd25519(pkey, source));
  ASSIGN_OR_RETURN(key.key_id_, RawPublicKeyId(pkey, source));
  return key;
}

Result<PublicKey> PublicKey::Load(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(path, kMaxKeyFileBytes));
  return FromPem(pem, path);
}

std::string PublicKey::Pem() const {
  return PemOfPublic(pkey_->pkey);
}

bool PublicKey::Verify(std::span<const uint8_t> message, std::span<const uint8_t> signature) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey_->pkey) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                          message.size()) == 1;
}

Result<PrivateKey> PrivateKey::Generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) return Status::Internal("OpenSSL: Ed25519 key generation failed");
  PrivateKey key;
  key.pkey_ = std::make_shared<PublicKey::Handle>();
  key.pkey_->pkey = pkey;
  key.public_.pkey_ = key.pkey_;
  ASSIGN_OR_RETURN(key.public_.key_id_, RawPublicKeyId(pkey, "generated key"));
  return key;
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem, std::string_view source) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pkey =
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr;
  if (pkey == nullptr) {
    return Status::Corruption(
        "{}: not an unencrypted PEM private key (expected \"-----BEGIN "
        "PRIVATE KEY-----\")",
        source);
  }
  PrivateKey key;
  key.pkey_ = std::make_shared<PublicKey::Handle>();
  key.pkey_->pkey = pkey;
  key.public_.pkey_ = key.pkey_;
  RETURN_IF_ERROR(CheckEd25519(pkey, source));
  ASSIGN_OR_RETURN(key.public_.key_id_, RawPublicKeyId(pkey, source));
  return key;
}

Result<PrivateKey> PrivateKey::Load(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMaxKeyFileBytes));
  Wiped pem{std::move(text)};
  return FromPem(pem.text, path);
}

Result<std::string> PrivateKey::Pem() const {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_->pkey, nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return Status::Internal("OpenSSL: cannot encode the private key as PEM");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::array<uint8_t, 64>> PrivateKey::Sign(std::span<const uint8_t> message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::array<uint8_t, 64> sig{};
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_->pkey) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1 ||
      len != sig.size()) {
    return Status::Internal("OpenSSL: Ed25519 signing failed");
  }
  return sig;
}

Result<PrivateKey> GenerateKeyFiles(const std::string& private_path, const std::string& public_path,
                                    bool overwrite) {
  if (private_path == public_path) {
    return Status::InvalidArgument("{}: the private and public key paths are the same",
                                   private_path);
  }
  for (const std::string& p : {private_path, public_path}) {
    std::error_code ec;
    if (!overwrite &&
        std::filesystem::symlink_status(p, ec).type() != std::filesystem::file_type::not_found) {
      return Status::FailedPrecondition(
          "{}: already exists (refusing to replace a key; pass "
          "--force)",
          p);
    }
  }
  ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
  ASSIGN_OR_RETURN(std::string pem_text, key.Pem());
  Wiped pem{std::move(pem_text)};
  RETURN_IF_ERROR(WritePrivateFileAtomically(private_path, pem.text));
  RETURN_IF_ERROR(WriteFileAtomically(public_path, key.public_key().Pem()));
  return key;
}

std::string SerializeSignature(const DetachedSignature& sig) {
  nlohmann::json j = {
      {"algorithm", sig.algorithm}, {"key_id", sig.key_id}, {"signature", sig.signature_base64}};
  return DumpJsonStable(j, 2) + "\n";
}

Result<DetachedSignature> ParseSignature(std::string_view bytes, std::string_view source) {
  if (bytes.size() > kMaxSignatureFileBytes) {
    return Status::Corruption("{}: {} bytes, larger than the {} byte limit for a signature file",
                              source, bytes.size(), kMaxSignatureFileBytes);
  }
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonStrict(bytes, source));
  if (!j.is_object()) return Status::Corruption("{}: expected a JSON object", source);
  for (const auto& [key, value] : j.items()) {
    if (key != "algorithm" && key != "key_id" && key != "signature") {
      return Status::Corruption("{}: unexpected field \"{}\"", source, key);
    }
    if (!value.is_string()) {
      return Status::Corruption("{}: field \"{}\" must be a string", source, key);
    }
  }
  for (const char* key : {"algorithm", "key_id", "signature"}) {
    if (!j.contains(key)) return Status::Corruption("{}: field \"{}\" is missing", source, key);
  }
  return DetachedSignature{j["algorithm"].get<std::string>(), j["key_id"].get<std::string>(),
                           j["signature"].get<std::string>()};
}

Status VerifyDetachedSignature(std::span<const uint8_t> manifest_bytes,
                               const DetachedSignature& sig, const std::vector<PublicKey>& trusted,
                               std::string_view manifest_source, std::string_view sig_source) {
  if (sig.algorithm != kSignatureAlgorithm) {
    return Status::Corruption("{}: algorithm \"{}\" refused, expected \"{}\"", sig_source,
                              sig.algorithm.substr(0, 40), kSignatureAlgorithm);
  }
  const PublicKey* key = nullptr;
  for (const PublicKey& k : trusted) {
    if (k.key_id() == sig.key_id) key = &k;
  }
  if (key == nullptr) {
    std::vector<std::string> ids;
    for (const PublicKey& k : trusted) ids.push_back(k.key_id());
    return Status::Corruption("{}: unknown key id \"{}\" (trusted: {})", sig_source,
                              sig.key_id.substr(0, 80), fmt::join(ids, ", "));
  }
  auto raw = Base64DecodeStrict(sig.signature_base64);
  if (!raw.ok()) return raw.status().WithContext(fmt::format("{}: signature", sig_source));
  if (raw->size() != 64) {
    return Status::Corruption("{}: signature is {} bytes, an Ed25519 signature is 64", sig_source,
                              raw->size());
  }
  if (!key->Verify(manifest_bytes, *raw)) {
    return Status::Corruption(
        "{}: Ed25519 signature by key {} does not match the bytes of {} "
        "(one of the two files was changed after signing)",
        sig_source, key->key_id(), manifest_source);
  }
  return Status::Ok();
}

Result<SignOutcome> SignRelease(const std::string& dist_dir, const PrivateKey& key) {
  const std::string manifest_path = (std::filesystem::path(dist_dir) / kManifestFileName).string();
  const std::string sig_path = (std::filesystem::path(dist_dir) / kSignatureFileName).string();
  ASSIGN_OR_RETURN(std::string bytes, ReadManifestFile(manifest_path));
  RETURN_IF_ERROR(ParseDistribution(bytes, manifest_path).status());
  ASSIGN_OR_RETURN(auto raw, key.Sign(AsBytes(bytes)));
  DetachedSignature sig{std::string(kSignatureAlgorithm), key.key_id(), Base64Encode(raw)};
  // Belt and braces: the signature we publish must verify with the public half.
  RETURN_IF_ERROR(
      VerifyDetachedSignature(AsBytes(bytes), sig, {key.public_key()}, manifest_path, sig_path));
  RETURN_IF_ERROR(WriteFileAtomically(sig_path, SerializeSignature(sig)));
  return SignOutcome{key.key_id(), sig_path};
}

Result<SignOutcome> SignReleaseLocked(const std::string& dist_dir, const PrivateKey& key) {
  ASSIGN_OR_RETURN(FileLock lock, LockRelease(dist_dir));
  return SignRelease(dist_dir, key);
}

}  // namespace moedist
