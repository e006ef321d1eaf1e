// Helpers for manifest tests: a per-test temporary directory and a small release (a few files
// in a few bundles, two nodes) built with BuildDistribution and optionally signed.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "manifest/build_distribution.h"
#include "manifest/release_signing.h"
#include "manifest/release_verify.h"

namespace moedist::testing {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

void WriteBytes(const fs::path& p, std::string_view bytes);
std::string ReadBytes(const fs::path& p);
void FlipBit(const fs::path& p, uint64_t bit);

// Times used by every sample release; verify runs "now" = kSampleNow.
inline constexpr const char* kSampleCreated = "2025-01-01T00:00:00Z";
inline constexpr const char* kSampleExpires = "2030-01-01T00:00:00Z";
int64_t SampleNow();

// Writes bundle files under `dist` (trunk/, group-0/, group-1/, overlay/) whose contents depend
// on `version` in group-1 only, and returns the sections for BuildDistribution:
// node-0 = trunk + group-0 + overlay, node-1 = trunk + group-1 + overlay.
DistributionSections WriteSampleRelease(const fs::path& dist, uint64_t version = 1);

// WriteSampleRelease + BuildDistribution; fails the test on error.
Distribution BuildSampleRelease(const fs::path& dist, uint64_t version = 1);

// Every file of the release, relative to `dist`, sorted.
std::vector<std::string> ListReleaseFiles(const fs::path& dist);

VerifyOptions SampleVerifyOptions(const fs::path& dist, const std::vector<PublicKey>& keys);

// Problems of a report as "check: message" lines, for failure messages.
std::string DescribeProblems(const VerifyReport& r);
bool AnyProblemMentions(const VerifyReport& r, const std::string& text);

// A signed sample release (version 1) in a temporary directory, with the signing key and a
// second, untrusted key.
class SignedReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // Verifies dist_ with the trusted key at SampleNow(); `tweak` adjusts the options.
  VerifyReport Verify(const std::function<void(VerifyOptions&)>& tweak = {}) const;
  // Builds and signs another release (version `version`) in <tmp>/<name>.
  fs::path MakeSignedRelease(const std::string& name, uint64_t version) const;
  // Replaces distribution.json with `bytes` and signs them with the trusted key.
  void ResignWith(const std::string& bytes) const;

  TempDir tmp_;
  fs::path dist_;
  PrivateKey key_;
  PrivateKey other_key_;
};

}  // namespace moedist::testing
