#include "tests/manifest/manifest_testutil.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "manifest/release_time.h"

namespace moedist::testing {

TempDir::TempDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "x";
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  path_ = fs::temp_directory_path() /
          ("moedist-manifest-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void WriteBytes(const fs::path& p, std::string_view bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << p;
}

std::string ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void FlipBit(const fs::path& p, uint64_t bit) {
  std::string bytes = ReadBytes(p);
  ASSERT_LT(bit / 8, bytes.size()) << p;
  bytes[bit / 8] = static_cast<char>(bytes[bit / 8] ^ (1u << (bit % 8)));
  // Rewrite in place (same inode), as corruption on disk would.
  std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(bit / 8));
  f.put(bytes[bit / 8]);
  ASSERT_TRUE(f.good()) << p;
}

int64_t SampleNow() {
  return ParseRfc3339Utc("2026-01-01T00:00:00Z", "now").value();
}

DistributionSections WriteSampleRelease(const fs::path& dist, uint64_t version) {
  auto blob = [](const std::string& seed, size_t n) {
    std::string s;
    s.reserve(n);
    uint32_t x = 2166136261u;
    for (char c : seed) x = (x ^ static_cast<uint8_t>(c)) * 16777619u;
    for (size_t i = 0; i < n; ++i) {
      x = x * 1664525u + 1013904223u;
      s.push_back(static_cast<char>(x >> 24));
    }
    return s;
  };
  WriteBytes(dist / "trunk/model.safetensors", blob("trunk", 5000));
  WriteBytes(dist / "trunk/config.json", "{\"model_type\": \"qwen3_moe\"}\n");
  WriteBytes(dist / "trunk/tokenizer/tokenizer.json", "{\"version\": \"1.0\"}\n");
  WriteBytes(dist / "group-0/experts.safetensors", blob("group-0", 3000));
  WriteBytes(dist / "group-1/experts.safetensors",
             blob("group-1 v" + std::to_string(version), 3000));
  WriteBytes(dist / "overlay/experts.safetensors", blob("overlay", 1000));
  WriteBytes(dist / "overlay/empty.bin", "");

  DistributionSections s;
  s.release = {"sample", version, kSampleCreated, kSampleExpires};
  s.source.family = "qwen3_moe";
  s.source.files = {{"model-00001-of-00001.safetensors", 9000, std::string(64, 'a')},
                    {"config.json", 30, std::string(64, 'b')}};
  s.source.facts = {{"repo", "Qwen/Qwen3-30B-A3B"}};
  s.routing = {{"scoring", "softmax"}, {"top_k", 2}, {"norm_topk_prob", true}};
  s.calibration = {{"suite", "calib.jsonl"}, {"tokens", 4096}};
  s.partition = {{"layers",
                  {{"0", {{"groups", {{0, 1}, {2, 3}}}, {"overlay", {4}}}},
                   {"1", {{"groups", {{0, 2}, {1, 3}}}, {"overlay", {4}}}}}},
                 {"method", "mass"}};
  s.overlay = {{"budget_bytes", 1000}};
  s.recipe = {{"trunk", "q8_0"}, {"experts", "q4_k"}};
  s.validation = {{"status", "not run"}};
  s.bundle_facts["group-0"] = {{"experts", {0, 1}}};
  s.nodes = {{"node-0", {"trunk", "group-0", "overlay"}, {{"group", 0}}},
             {"node-1", {"trunk", "group-1", "overlay"}, {{"group", 1}}}};
  return s;
}

Distribution BuildSampleRelease(const fs::path& dist, uint64_t version) {
  DistributionSections s = WriteSampleRelease(dist, version);
  auto d = BuildDistribution(dist.string(), s, {.threads = 2});
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : Distribution{};
}

std::vector<std::string> ListReleaseFiles(const fs::path& dist) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dist)) {
    if (e.is_regular_file()) out.push_back(e.path().lexically_relative(dist).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

VerifyOptions SampleVerifyOptions(const fs::path& dist, const std::vector<PublicKey>& keys) {
  VerifyOptions o;
  o.dist_dir = dist.string();
  o.trusted_keys = keys;
  o.now = SampleNow();
  o.threads = 2;
  return o;
}

std::string DescribeProblems(const VerifyReport& r) {
  std::string out;
  for (const VerifyProblem& p : r.problems) {
    out += fmt::format("  [{}] {} :: {}\n", VerifyCheckName(p.check), p.file, p.message);
  }
  return out;
}

bool AnyProblemMentions(const VerifyReport& r, const std::string& text) {
  for (const VerifyProblem& p : r.problems) {
    if (p.message.find(text) != std::string::npos || p.file == text) return true;
  }
  return false;
}

void SignedReleaseTest::SetUp() {
  dist_ = tmp_.path() / "dist";
  key_ = PrivateKey::Generate().value();
  other_key_ = PrivateKey::Generate().value();
  BuildSampleRelease(dist_, 1);
  auto signed_release = SignRelease(dist_.string(), key_);
  ASSERT_TRUE(signed_release.ok()) << signed_release.status().ToString();
}

VerifyReport SignedReleaseTest::Verify(const std::function<void(VerifyOptions&)>& tweak) const {
  VerifyOptions o = SampleVerifyOptions(dist_, {key_.public_key()});
  if (tweak) tweak(o);
  return VerifyRelease(o);
}

fs::path SignedReleaseTest::MakeSignedRelease(const std::string& name, uint64_t version) const {
  const fs::path dist = tmp_.path() / name;
  BuildSampleRelease(dist, version);
  EXPECT_TRUE(SignRelease(dist.string(), key_).ok());
  return dist;
}

void SignedReleaseTest::ResignWith(const std::string& bytes) const {
  WriteBytes(dist_ / "distribution.json", bytes);
  auto raw = key_.Sign({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).value();
  WriteBytes(dist_ / "distribution.json.sig",
             SerializeSignature({"ed25519", key_.key_id(), Base64Encode(raw)}));
}

}  // namespace moedist::testing
