// Ed25519 keys and detached signatures: key files, strict base64, the signature file format,
// and each refusal (wrong algorithm, unknown key id, bad signature) named.
#include "manifest/release_signing.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include "manifest/distribution.h"
#include "tests/manifest/manifest_testutil.h"

namespace moedist {
namespace {

using namespace moedist::testing;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Base64, RoundTripAndStrictness) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    const std::string enc = Base64Encode(Bytes(s));
    auto dec = Base64DecodeStrict(enc);
    ASSERT_TRUE(dec.ok()) << enc;
    EXPECT_EQ(std::string(dec->begin(), dec->end()), s);
  }
  EXPECT_EQ(Base64Encode(Bytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(Bytes("fo")), "Zm8=");
  for (const char* bad : {"Zm8", "Zm8==", "Zm9v\n", " Zm9v", "Zm=v",
                          "Zm9=", "Zm8=Zm8=", "Zh==", "Zm9-", "====", "Z==="}) {
    EXPECT_FALSE(Base64DecodeStrict(bad).ok()) << bad;
  }
}

TEST(KeyFiles, GeneratedPrivateKeyIsMode0600AndLoadsBack) {
  TempDir dir;
  const std::string priv = (dir.path() / "release.key").string();
  const std::string pub = (dir.path() / "release.pub").string();
  auto key = GenerateKeyFiles(priv, pub, false);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat(priv.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(ReadBytes(priv).find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  EXPECT_NE(ReadBytes(pub).find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
  auto loaded = PrivateKey::Load(priv);
  auto loaded_pub = PublicKey::Load(pub);
  ASSERT_TRUE(loaded.ok() && loaded_pub.ok());
  EXPECT_EQ(loaded->key_id(), key->key_id());
  EXPECT_EQ(loaded_pub->key_id(), key->key_id());
  EXPECT_EQ(key->key_id().size(), 64u);
  // No temporary left next to the keys.
  EXPECT_EQ(ListReleaseFiles(dir.path()).size(), 2u);
}

TEST(KeyFiles, ExistingKeyIsNotReplacedWithoutForce) {
  TempDir dir;
  const std::string priv = (dir.path() / "k").string();
  ASSERT_TRUE(GenerateKeyFiles(priv, priv + ".pub", false).ok());
  const std::string before = ReadBytes(priv);
  auto again = GenerateKeyFiles(priv, priv + ".pub", false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadBytes(priv), before);
  ASSERT_TRUE(GenerateKeyFiles(priv, priv + ".pub", true).ok());
  EXPECT_NE(ReadBytes(priv), before);
}

TEST(KeyFiles, NonEd25519AndGarbageKeysRefused) {
  EXPECT_FALSE(PublicKey::FromPem("not a key", "x").ok());
  EXPECT_FALSE(
      PrivateKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "x")
          .ok());
  // A P-256 public key: valid PEM, wrong algorithm.
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(ec, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio, ec), 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  const std::string p256(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  auto k = PublicKey::FromPem(p256, "p256.pub");
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("expected ED25519"), std::string::npos)
      << k.status().ToString();
}

class DetachedSig : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = PrivateKey::Generate().value();
    other_ = PrivateKey::Generate().value();
    auto raw = key_.Sign(Bytes(message_)).value();
    sig_ = {"ed25519", key_.key_id(), Base64Encode(raw)};
  }
  Status Check(const DetachedSignature& s, const std::string& msg) {
    return VerifyDetachedSignature(Bytes(msg), s, {key_.public_key()}, "distribution.json",
                                   "distribution.json.sig");
  }
  std::string message_ = "{\n  \"a\": 1\n}\n";
  PrivateKey key_, other_;
  DetachedSignature sig_;
};

TEST_F(DetachedSig, ValidSignatureVerifies) {
  EXPECT_TRUE(Check(sig_, message_).ok());
}

TEST_F(DetachedSig, WhitespaceChangeFails) {
  Status st = Check(sig_, "{\n  \"a\": 1 \n}\n");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("does not match the bytes of distribution.json"), std::string::npos);
}

TEST_F(DetachedSig, WrongAlgorithmRefused) {
  DetachedSignature s = sig_;
  s.algorithm = "rsa-pss";
  Status st = Check(s, message_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("algorithm \"rsa-pss\" refused"), std::string::npos);
}

TEST_F(DetachedSig, UnknownKeyIdRefused) {
  DetachedSignature s = sig_;
  s.key_id = other_.key_id();
  Status st = Check(s, message_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("unknown key id"), std::string::npos);
}

TEST_F(DetachedSig, SignatureByAnotherKeyUnderTheTrustedIdFails) {
  DetachedSignature s = sig_;
  s.signature_base64 = Base64Encode(other_.Sign(Bytes(message_)).value());
  EXPECT_FALSE(Check(s, message_).ok());
}

TEST_F(DetachedSig, TruncatedOrMalformedSignatureRefused) {
  DetachedSignature s = sig_;
  s.signature_base64 = Base64Encode(std::vector<uint8_t>(63, 1));
  EXPECT_NE(Check(s, message_).message().find("64"), std::string::npos);
  s.signature_base64 = "@@@@";
  EXPECT_FALSE(Check(s, message_).ok());
}

TEST(SignatureFile, StrictFormat) {
  DetachedSignature s{"ed25519", std::string(64, 'a'), "AAAA"};
  const std::string text = SerializeSignature(s);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_LT(text.find("algorithm"), text.find("key_id"));
  auto back = ParseSignature(text, "sig");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->key_id, s.key_id);
  EXPECT_FALSE(ParseSignature("{\"algorithm\":\"ed25519\",\"key_id\":\"a\"}", "sig").ok());
  EXPECT_FALSE(ParseSignature("{\"algorithm\":\"ed25519\",\"key_id\":\"a\",\"signature\":\"A\","
                              "\"extra\":1}",
                              "sig")
                   .ok());
  EXPECT_FALSE(ParseSignature("{\"algorithm\":\"ed25519\",\"algorithm\":\"ed25519\",\"key_id\":"
                              "\"a\",\"signature\":\"A\"}",
                              "sig")
                   .ok());
  EXPECT_FALSE(ParseSignature("[]", "sig").ok());
  EXPECT_FALSE(ParseSignature(std::string(kMaxSignatureFileBytes + 1, ' '), "sig").ok());
}

TEST(SignRelease, RefusesAMalformedManifest) {
  TempDir dir;
  WriteBytes(dir.path() / "distribution.json", "{\"schema_version\": 1}\n");
  auto key = PrivateKey::Generate().value();
  auto r = SignRelease(dir.str(), key);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_FALSE(fs::exists(dir.path() / "distribution.json.sig"));
}

}  // namespace
}  // namespace moedist
