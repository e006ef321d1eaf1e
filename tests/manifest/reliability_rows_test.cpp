// One named test per reliability row this module owns (docs/reliability.md rows 17-25,
// and the manifest side of rows 30-35). Each builds a signed sample release, applies the
// defect, and checks verify's verdict and that the offending file is named.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "core/json_strict.h"
#include "manifest/last_accepted.h"
#include "manifest/release_time.h"
#include "tests/manifest/manifest_testutil.h"

namespace moedist {
namespace {

using namespace moedist::testing;
using nlohmann::json;

class Reliability : public SignedReleaseTest {
 protected:
  json ManifestJson() const {
    return ParseJsonStrict(ReadBytes(dist_ / "distribution.json"), "m").value();
  }
  void ResignJson(const json& j) const { ResignWith(DumpJsonStable(j) + "\n"); }
  // Writes a .sig with the given fields and a real signature by `by` over the manifest.
  void WriteSig(const std::string& algorithm, const std::string& key_id, const PrivateKey& by) {
    const std::string bytes = ReadBytes(dist_ / "distribution.json");
    auto raw = by.Sign({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).value();
    WriteBytes(dist_ / "distribution.json.sig",
               SerializeSignature({algorithm, key_id, Base64Encode(raw)}));
  }
};

// Row 17: signature invalid, unknown key, wrong algorithm -> refused before the body is trusted.
TEST_F(Reliability, Row17_InvalidSignatureUnknownKeyWrongAlgorithmRefusedBeforeBody) {
  // The body is also malformed, so a schema problem would show if the body were looked at.
  json j = ManifestJson();
  j["release"]["version"] = "not a number";
  WriteBytes(dist_ / "distribution.json", DumpJsonStable(j) + "\n");
  struct Case {
    const char* name;
    std::function<void()> make_sig;
    const char* expect;
  } cases[] = {
      {"invalid", [&] { WriteSig("ed25519", key_.key_id(), other_key_); }, "does not match"},
      {"unknown key", [&] { WriteSig("ed25519", other_key_.key_id(), other_key_); },
       "unknown key id"},
      {"wrong algorithm", [&] { WriteSig("ecdsa-p256", key_.key_id(), key_); },
       "algorithm \"ecdsa-p256\" refused"},
      {"garbage", [&] { WriteBytes(dist_ / "distribution.json.sig", "not json"); }, "invalid JSON"},
  };
  for (const Case& c : cases) {
    c.make_sig();
    VerifyReport r = Verify();
    EXPECT_EQ(r.ExitCode(), 1) << c.name;
    ASSERT_EQ(r.problems.size(), 1u) << c.name << "\n" << DescribeProblems(r);
    EXPECT_EQ(r.problems[0].check, VerifyCheck::kSignature) << c.name;
    EXPECT_EQ(r.problems[0].file, "distribution.json.sig");
    EXPECT_NE(r.problems[0].message.find(c.expect), std::string::npos) << r.problems[0].message;
    EXPECT_FALSE(r.release.has_value()) << "body parsed although the signature failed";
  }
}

// Row 18: version lower than the last accepted -> rollback refused; equal -> nothing to do.
TEST_F(Reliability, Row18_RollbackRefusedEqualVersionIsNothingNew) {
  const std::string state = (tmp_.path() / "last-accepted.json").string();
  const fs::path v3 = MakeSignedRelease("v3", 3);
  ASSERT_TRUE(Verify([&](VerifyOptions& o) {
                o.dist_dir = v3.string();
                o.last_accepted_path = state;
              }).ok());
  VerifyReport rollback = Verify([&](VerifyOptions& o) { o.last_accepted_path = state; });
  EXPECT_EQ(rollback.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(rollback, "rollback refused")) << DescribeProblems(rollback);
  VerifyReport same = Verify([&](VerifyOptions& o) {
    o.dist_dir = v3.string();
    o.last_accepted_path = state;
  });
  EXPECT_TRUE(same.ok());
  EXPECT_TRUE(same.nothing_new);
}

// Row 19: expires in the past -> refused (and exactly at expiry too).
TEST_F(Reliability, Row19_ExpiredManifestRefused) {
  VerifyReport expired = Verify(
      [](VerifyOptions& o) { o.now = ParseRfc3339Utc("2030-01-01T00:00:00Z", "now").value(); });
  EXPECT_EQ(expired.ExitCode(), 1);
  ASSERT_FALSE(expired.problems.empty());
  EXPECT_EQ(expired.problems[0].check, VerifyCheck::kExpiry);
  EXPECT_NE(expired.problems[0].message.find("expired at 2030-01-01T00:00:00Z"), std::string::npos);
  EXPECT_TRUE(Verify([](VerifyOptions& o) {
                o.now = ParseRfc3339Utc("2029-12-31T23:59:59Z", "now").value();
              }).ok());
}

// Row 20: a manifest over its cap, or a file longer than its listed length: reading stops.
TEST_F(Reliability, Row20_OversizedManifestAndOverlongFileRefusedWithoutReading) {
  // 1 TiB sparse files: reading or allocating either would not finish in the test's time.
  const fs::path big = dist_ / "group-0/experts.safetensors";
  fs::resize_file(big, 1ull << 40);
  VerifyReport r = Verify();
  EXPECT_EQ(r.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(r,
                                 "group-0/experts.safetensors: size mismatch: listed 3000 "
                                 "bytes, found 1099511627776"))
      << DescribeProblems(r);
  EXPECT_EQ(r.files_checked, 6u) << "every file but the overlong one was hashed";

  fs::resize_file(dist_ / "distribution.json", 1ull << 40);
  VerifyReport m = Verify();
  EXPECT_EQ(m.ExitCode(), 3);
  ASSERT_EQ(m.problems.size(), 1u);
  EXPECT_EQ(m.problems[0].check, VerifyCheck::kManifest);
  EXPECT_NE(m.problems[0].message.find("larger than the 16777216 byte limit"), std::string::npos)
      << m.problems[0].message;
}

// Row 21: any single bit flipped anywhere -> verify fails and names the file.
TEST_F(Reliability, Row21_SingleBitFlipAnywhereNamesTheFile) {
  std::mt19937_64 rng(21);
  for (const std::string& rel : ListReleaseFiles(dist_)) {
    const fs::path p = dist_ / rel;
    const uint64_t size = fs::file_size(p);
    if (size == 0) continue;
    for (int trial = 0; trial < 3; ++trial) {
      const uint64_t bit = rng() % (size * 8);
      FlipBit(p, bit);
      VerifyReport r = Verify();
      EXPECT_EQ(r.ExitCode(), 1) << rel << " bit " << bit;
      bool named = false;
      for (const VerifyProblem& pr : r.problems) {
        named |= pr.file == rel || pr.message.find(rel) != std::string::npos;
      }
      EXPECT_TRUE(named) << rel << " bit " << bit << "\n" << DescribeProblems(r);
      FlipBit(p, bit);
    }
  }
}

// Row 22: a file missing from, or extra to, the manifest -> verify fails and names each.
TEST_F(Reliability, Row22_MissingAndExtraFilesNamed) {
  fs::rename(dist_ / "trunk/config.json", dist_ / "trunk/config.json.renamed");
  VerifyReport r = Verify();
  EXPECT_EQ(r.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(r, "trunk/config.json: missing file")) << DescribeProblems(r);
  EXPECT_TRUE(AnyProblemMentions(r, "trunk/config.json.renamed: extra file"));
}

// Row 23: a manifest path with .., absolute, backslash, NUL, or a duplicate -> refused, even
// when properly signed.
TEST_F(Reliability, Row23_BadManifestPathsRefusedEvenWhenSigned) {
  const json original = ManifestJson();
  const std::pair<const char*, std::string> paths[] = {
      {"dot-dot", "../../etc/passwd"},
      {"inner dot-dot", "tokenizer/../../x"},
      {"absolute", "/etc/passwd"},
      {"backslash", "tokenizer\\tokenizer.json"},
      {"NUL", std::string("config.json\0.exe", 16)},
      {"duplicate", "model.safetensors"},
      {"case duplicate", "MODEL.safetensors"},
  };
  for (const auto& [name, path] : paths) {
    json j = original;
    j["bundles"]["trunk"]["files"][0]["path"] = path;  // files[0] is config.json
    ResignJson(j);
    VerifyReport r = Verify();
    EXPECT_EQ(r.ExitCode(), 3) << name << "\n" << DescribeProblems(r);
    ASSERT_EQ(r.problems.size(), 1u) << name;
    EXPECT_EQ(r.problems[0].check, VerifyCheck::kSchema) << name;
    EXPECT_EQ(r.problems[0].file, "distribution.json");
    EXPECT_EQ(r.files_checked, 0u) << "no file may be opened through a refused manifest";
  }
}

// Row 24: a bundle of another release or of another node -> refused (the release version and
// each node's bundles are in the signed body, the bundles' digests differ).
TEST_F(Reliability, Row24_BundleOfAnotherReleaseOrNodeRefused) {
  const fs::path v2 = MakeSignedRelease("v2", 2);
  fs::remove_all(dist_ / "group-1");
  fs::copy(v2 / "group-1", dist_ / "group-1", fs::copy_options::recursive);
  VerifyReport other_release = Verify();
  EXPECT_EQ(other_release.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(other_release, "group-1/experts.safetensors: SHA-256 mismatch"))
      << DescribeProblems(other_release);

  // Mix and match: the v2 manifest and signature over v1's bundles.
  fs::copy_file(v2 / "distribution.json", dist_ / "distribution.json",
                fs::copy_options::overwrite_existing);
  fs::copy_file(v2 / "distribution.json.sig", dist_ / "distribution.json.sig",
                fs::copy_options::overwrite_existing);
  fs::remove_all(dist_ / "group-1");
  fs::copy(tmp_.path() / "v2" / "group-1", dist_ / "group-1", fs::copy_options::recursive);
  ASSERT_TRUE(Verify().ok());    // consistent v2 now
  WriteSampleRelease(dist_, 1);  // v1 bundle contents back under the v2 manifest
  VerifyReport mixed = Verify();
  EXPECT_TRUE(AnyProblemMentions(mixed, "group-1/experts.safetensors: SHA-256 mismatch"));

  // Node A's bundle served as node B's.
  const fs::path fresh = MakeSignedRelease("swap", 1);
  fs::rename(fresh / "group-0", fresh / "tmp");
  fs::rename(fresh / "group-1", fresh / "group-0");
  fs::rename(fresh / "tmp", fresh / "group-1");
  VerifyReport swapped = Verify([&](VerifyOptions& o) {
    o.dist_dir = fresh.string();
    o.node = "node-1";
  });
  EXPECT_EQ(swapped.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(swapped, "group-1/experts.safetensors: SHA-256 mismatch"))
      << DescribeProblems(swapped);
}

// Row 25: manifest bytes changed, even whitespace -> signature fails.
TEST_F(Reliability, Row25_WhitespaceChangeInManifestFailsSignature) {
  const std::string bytes = ReadBytes(dist_ / "distribution.json");
  for (const std::string& changed : {bytes + "\n", bytes.substr(0, bytes.size() - 1), " " + bytes,
                                     std::string(bytes).replace(bytes.find(": "), 2, ":  ")}) {
    WriteBytes(dist_ / "distribution.json", changed);
    VerifyReport r = Verify();
    EXPECT_EQ(r.ExitCode(), 1);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].check, VerifyCheck::kSignature);
    // The same JSON value: a parser would accept it, only the signature catches it.
    EXPECT_EQ(ParseJsonStrict(changed, "x").value(), ParseJsonStrict(bytes, "x").value());
  }
}

// Rows 30-31: kill -9 while BuildDistribution publishes -> either no manifest or a complete
// one; verify fails cleanly; a rerun completes and cleans the temporaries.
TEST_F(Reliability, Row30_31_KillDuringPublicationLeavesNoHalfManifest) {
  const fs::path dist = tmp_.path() / "killed";
  DistributionSections s = WriteSampleRelease(dist, 1);
  std::mt19937 rng(31);
  int saw_none = 0, saw_complete = 0;
  for (int round = 0; round < 12; ++round) {
    fs::remove(dist / "distribution.json");
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (;;) {
        auto d = BuildDistribution(dist.string(), s, {.threads = 1});
        if (!d.ok()) ::_exit(2);
        fs::remove(dist / "distribution.json");  // keep publishing
      }
    }
    ::usleep(200 + rng() % 20000);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early: " << WEXITSTATUS(status);
    VerifyOptions o = SampleVerifyOptions(dist, {});
    o.allow_unsigned = true;
    if (fs::exists(dist / "distribution.json")) {
      ++saw_complete;
      auto bytes = ReadManifestFile((dist / "distribution.json").string());
      ASSERT_TRUE(bytes.ok());
      EXPECT_TRUE(ParseDistribution(*bytes, "m").ok()) << "a half-written manifest is visible";
    } else {
      ++saw_none;
      EXPECT_EQ(VerifyRelease(o).ExitCode(), 4) << "no manifest: verify fails cleanly";
    }
    // A rerun completes (it removes its own stale temporaries) and verifies.
    ASSERT_TRUE(BuildDistribution(dist.string(), s, {.threads = 1}).ok());
    VerifyReport r = VerifyRelease(o);
    EXPECT_TRUE(r.ok()) << DescribeProblems(r);
  }
  EXPECT_GT(saw_none + saw_complete, 0);
}

// Row 32: disk full while writing the manifest -> error, temporary removed, previous release
// (manifest and signature) intact and still verifying.
TEST_F(Reliability, Row32_DiskFullKeepsThePreviousRelease) {
  const std::string before = ReadBytes(dist_ / "distribution.json");
  const std::string sig_before = ReadBytes(dist_ / "distribution.json.sig");
  DistributionSections s = WriteSampleRelease(dist_, 1);
  s.validation = {{"status", "passed"}};  // other bytes than the published manifest
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim {
      512, 512
    };  // "the disk" holds 512 bytes per file
    ::setrlimit(RLIMIT_FSIZE, &lim);
    auto d = BuildDistribution(dist_.string(), s, {.threads = 1});
    ::_exit(d.ok() ? 0 : d.status().code() == StatusCode::kIoError ? 7 : 8);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7) << "expected an I/O error";
  EXPECT_EQ(ReadBytes(dist_ / "distribution.json"), before);
  EXPECT_EQ(ReadBytes(dist_ / "distribution.json.sig"), sig_before);
  EXPECT_EQ(ListReleaseFiles(dist_).size(), 9u) << "a temporary was left behind";
  EXPECT_TRUE(Verify().ok());
}

// Row 34 (the part this module owns): concurrent verifies recording the last accepted version
// never move it backwards.
TEST_F(Reliability, Row34_ConcurrentRecordsNeverMoveTheVersionBackwards) {
  const std::string state = (tmp_.path() / "la.json").string();
  std::vector<std::thread> threads;
  for (uint64_t v = 1; v <= 16; ++v) {
    threads.emplace_back([&, v] {
      (void)RecordLastAccepted(
          state, {"sample", v, std::string(64, static_cast<char>('a' + v % 6)), "now"});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ReadLastAccepted(state).value()->version, 16u);
}

// Row 35: source checkpoint changed between runs -> detected by digest, never by size or mtime.
TEST_F(Reliability, Row35_SourceChangeWithSameSizeAndMtimeDetected) {
  const fs::path ckpt = tmp_.path() / "ckpt";
  WriteBytes(ckpt / "model.safetensors", std::string(4096, 'w'));
  WriteBytes(ckpt / "config.json", "{}");
  auto files = DescribeFiles(ckpt.string(), {"model.safetensors", "config.json"});
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ((*files)[0].path, "config.json");  // sorted
  EXPECT_TRUE(CheckFilesUnchanged(ckpt.string(), *files).ok());
  const auto mtime = fs::last_write_time(ckpt / "model.safetensors");
  FlipBit(ckpt / "model.safetensors", 12345);
  fs::last_write_time(ckpt / "model.safetensors", mtime);
  Status st = CheckFilesUnchanged(ckpt.string(), *files);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("model.safetensors: content changed"), std::string::npos)
      << st.message();
}

// Row 35 within one run: pack checks stamps (inode, size, mtime, ctime) instead of reading the
// checkpoint twice; a same-size edit with the mtime set back still changes ctime.
TEST_F(Reliability, Row35_EditDuringARunDetectedByStampDespiteRestoredMtime) {
  const fs::path ckpt = tmp_.path() / "ckpt";
  WriteBytes(ckpt / "model.safetensors", std::string(4096, 'w'));
  WriteBytes(ckpt / "config.json", "{}");
  std::vector<FileStamp> stamps;
  auto files = DescribeFiles(ckpt.string(), {"model.safetensors", "config.json"}, {}, &stamps);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(stamps.size(), 2u);
  EXPECT_TRUE(CheckFilesUnchangedSince(ckpt.string(), *files, stamps).ok());
  // ctime has nanosecond resolution but the clock tick may be coarser: make the edit later.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto mtime = fs::last_write_time(ckpt / "model.safetensors");
  FlipBit(ckpt / "model.safetensors", 12345);
  fs::last_write_time(ckpt / "model.safetensors", mtime);
  Status st = CheckFilesUnchangedSince(ckpt.string(), *files, stamps);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("model.safetensors: modified while being read"), std::string::npos)
      << st.message();
  EXPECT_EQ(st.message().find("config.json"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace moedist
