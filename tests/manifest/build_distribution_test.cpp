// BuildDistribution: what pack calls to describe and publish a release directory.
#include "manifest/build_distribution.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/json_strict.h"
#include "manifest/release_signing.h"
#include "tests/manifest/manifest_testutil.h"

namespace moedist {
namespace {

using namespace moedist::testing;

TEST(BuildDistribution, HashesEveryBundleFileAndPublishesAReadableManifest) {
  TempDir tmp;
  const fs::path dist = tmp.path() / "dist";
  Distribution d = BuildSampleRelease(dist, 1);
  ASSERT_EQ(d.bundles.size(), 4u);
  const auto& trunk = d.bundles.at("trunk").files;
  ASSERT_EQ(trunk.size(), 3u);
  EXPECT_EQ(trunk[0].path, "config.json");
  EXPECT_EQ(trunk[2].path, "tokenizer/tokenizer.json");
  EXPECT_EQ(trunk[1].size, 5000u);
  EXPECT_EQ(trunk[1].sha256, DigestFile((dist / "trunk/model.safetensors").string())->sha256);
  EXPECT_EQ(d.bundles.at("overlay").files[0].sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");  // empty.bin
  EXPECT_EQ(d.bundles.at("group-0").facts["experts"], nlohmann::json({0, 1}));
  const std::string bytes = ReadBytes(dist / "distribution.json");
  EXPECT_EQ(bytes, SerializeDistribution(d));
  auto parsed = ParseDistribution(bytes, "distribution.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(SerializeDistribution(*parsed), bytes);
}

TEST(BuildDistribution, DeterministicAcrossRunsAndThreadCounts) {
  TempDir tmp;
  const fs::path a = tmp.path() / "a", b = tmp.path() / "b";
  DistributionSections s = WriteSampleRelease(a, 1);
  WriteSampleRelease(b, 1);
  ASSERT_TRUE(BuildDistribution(a.string(), s, {.threads = 1}).ok());
  ASSERT_TRUE(BuildDistribution(b.string(), s, {.threads = 8}).ok());
  EXPECT_EQ(ReadBytes(a / "distribution.json"), ReadBytes(b / "distribution.json"));
}

TEST(BuildDistribution, RebuildingTheSameReleaseKeepsItsSignature) {
  TempDir tmp;
  const fs::path dist = tmp.path() / "dist";
  DistributionSections s = WriteSampleRelease(dist, 1);
  ASSERT_TRUE(BuildDistribution(dist.string(), s).ok());
  auto key = PrivateKey::Generate().value();
  ASSERT_TRUE(SignRelease(dist.string(), key).ok());
  ASSERT_TRUE(BuildDistribution(dist.string(), s).ok());
  EXPECT_TRUE(fs::exists(dist / "distribution.json.sig"));
  s.validation = {{"status", "passed"}};
  ASSERT_TRUE(BuildDistribution(dist.string(), s).ok());
  EXPECT_FALSE(fs::exists(dist / "distribution.json.sig")) << "a stale signature must go";
}

TEST(BuildDistribution, RefusesWhatAManifestCannotDescribe) {
  struct Case {
    const char* name;
    std::function<void(const fs::path&, DistributionSections&)> apply;
    const char* expect;
  };
  const Case cases[] = {
      {"symlink in a bundle",
       [](const fs::path& d, DistributionSections&) {
         fs::create_symlink("/etc/passwd", d / "trunk/passwd");
       },
       "symbolic link in a bundle"},
      {"fifo in a bundle",
       [](const fs::path& d, DistributionSections&) {
         ASSERT_EQ(::mkfifo((d / "trunk/pipe").c_str(), 0600), 0);
       },
       "special file"},
      {"stray top-level file",
       [](const fs::path& d, DistributionSections&) { WriteBytes(d / "README", "x"); },
       "unexpected file"},
      {"bad bundle directory name",
       [](const fs::path& d, DistributionSections&) { WriteBytes(d / "bad name/x", "x"); },
       "bundle directory"},
      {"backslash in a file name",
       [](const fs::path& d, DistributionSections&) { WriteBytes(d / "trunk/a\\b", "x"); },
       "backslash"},
      {"case-insensitive duplicate file",
       [](const fs::path& d, DistributionSections&) { WriteBytes(d / "trunk/CONFIG.json", "x"); },
       "differ only in letter case"},
      {"empty directory",
       [](const fs::path& d, DistributionSections&) { fs::create_directories(d / "trunk/void"); },
       "empty directory"},
      {"temporary of an interrupted write",
       [](const fs::path& d, DistributionSections&) {
         WriteBytes(d / "trunk/.model.safetensors.tmp.4242.0", "x");
       },
       "interrupted write"},
      {"node needs a bundle with no directory",
       [](const fs::path&, DistributionSections& s) { s.nodes[0].bundles.push_back("group-7"); },
       "which has no directory"},
      {"expires before created",
       [](const fs::path&, DistributionSections& s) { s.release.expires = "2024-01-01T00:00:00Z"; },
       "is not after"},
      {"version zero", [](const fs::path&, DistributionSections& s) { s.release.version = 0; },
       "at least 1"},
      {"opaque section not an object",
       [](const fs::path&, DistributionSections& s) { s.recipe = nlohmann::json::array(); },
       "/recipe"},
      {"bad source path",
       [](const fs::path&, DistributionSections& s) { s.source.files[0].path = "../x"; }, "source"},
  };
  for (const Case& c : cases) {
    TempDir tmp;
    const fs::path dist = tmp.path() / "dist";
    DistributionSections s = WriteSampleRelease(dist, 1);
    c.apply(dist, s);
    auto d = BuildDistribution(dist.string(), s);
    ASSERT_FALSE(d.ok()) << c.name;
    EXPECT_NE(d.status().message().find(c.expect), std::string::npos)
        << c.name << ": " << d.status().message();
    EXPECT_FALSE(fs::exists(dist / "distribution.json")) << c.name;
  }
}

TEST(AtomicTemporaryNames, MatchOnlyAtomicFilesPattern) {
  EXPECT_TRUE(IsAtomicTemporaryName(".model.safetensors.tmp.123.0"));
  EXPECT_TRUE(IsAtomicTemporaryName(".distribution.json.tmp.1.22"));
  EXPECT_FALSE(IsAtomicTemporaryName("model.safetensors.tmp.123.0"));
  EXPECT_FALSE(IsAtomicTemporaryName(".model.tmp.x.0"));
  EXPECT_FALSE(IsAtomicTemporaryName(".model.tmp.1."));
  EXPECT_FALSE(IsAtomicTemporaryName(".tmp.1.2"));
  EXPECT_FALSE(IsAtomicTemporaryName(".hidden"));
}

}  // namespace
}  // namespace moedist
