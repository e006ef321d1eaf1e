// verify on a real release directory: the happy path, every single-bit flip in every file,
// missing/extra files, node scope, last-accepted state across runs, exit classes.
#include "manifest/release_verify.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <random>

#include "core/json_strict.h"
#include "manifest/last_accepted.h"
#include "manifest/release_time.h"
#include "tests/manifest/manifest_testutil.h"

namespace moedist {
namespace {

using namespace moedist::testing;
using nlohmann::json;

using VerifyTest = SignedReleaseTest;

bool Names(const VerifyReport& r, const std::string& file) {
  for (const VerifyProblem& p : r.problems) {
    if (p.file == file || p.message.find(file) != std::string::npos) return true;
  }
  return false;
}

TEST_F(VerifyTest, SignedReleaseVerifies) {
  VerifyReport r = Verify();
  ASSERT_TRUE(r.ok()) << DescribeProblems(r);
  EXPECT_EQ(r.ExitCode(), 0);
  EXPECT_TRUE(r.signature_checked);
  EXPECT_EQ(r.key_id, key_.key_id());
  EXPECT_EQ(r.files_checked, 7u);
  EXPECT_EQ(r.bundles_checked,
            (std::vector<std::string>{"group-0", "group-1", "overlay", "trunk"}));
  ASSERT_EQ(r.nodes.size(), 2u);
  EXPECT_TRUE(r.nodes[0].ok && r.nodes[1].ok);
  json j = VerifyReportToJson(r);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["problems"].size(), 0u);
}

TEST_F(VerifyTest, OneRandomBitFlippedInEveryFileIsDetectedAndNamed) {
  std::mt19937_64 rng(20250301);
  const std::vector<std::string> files = ListReleaseFiles(dist_);
  ASSERT_EQ(files.size(), 9u);  // 7 bundle files + manifest + signature
  int flipped = 0;
  for (const std::string& rel : files) {
    const fs::path p = dist_ / rel;
    const uint64_t size = fs::file_size(p);
    if (size == 0) continue;  // overlay/empty.bin has no bit to flip (its digest is still checked)
    const uint64_t bit = rng() % (size * 8);
    FlipBit(p, bit);
    VerifyReport r = Verify();
    EXPECT_FALSE(r.ok()) << rel << " bit " << bit;
    EXPECT_EQ(r.ExitCode(), 1) << rel << "\n" << DescribeProblems(r);
    EXPECT_TRUE(Names(r, rel)) << rel << " bit " << bit << " not named:\n" << DescribeProblems(r);
    if (rel.rfind("distribution.json", 0) == 0) {
      // Refused before the body is trusted: nothing but the signature is reported.
      for (const VerifyProblem& p2 : r.problems) EXPECT_EQ(p2.check, VerifyCheck::kSignature);
    } else {
      ASSERT_EQ(r.problems.size(), 1u) << DescribeProblems(r);
      EXPECT_EQ(r.problems[0].file, rel);
      EXPECT_NE(r.problems[0].message.find("SHA-256 mismatch"), std::string::npos);
    }
    FlipBit(p, bit);
    ++flipped;
  }
  EXPECT_EQ(flipped, 8);
  EXPECT_TRUE(Verify().ok());
}

TEST_F(VerifyTest, MissingAndExtraFilesAreBothNamed) {
  fs::remove(dist_ / "trunk/tokenizer/tokenizer.json");
  WriteBytes(dist_ / "group-0/stray.bin", "x");
  WriteBytes(dist_ / "notes.txt", "x");
  fs::create_directories(dist_ / "overlay/empty-dir");
  VerifyReport r = Verify();
  EXPECT_EQ(r.ExitCode(), 1);
  EXPECT_TRUE(Names(r, "trunk/tokenizer/tokenizer.json")) << DescribeProblems(r);
  EXPECT_TRUE(AnyProblemMentions(r, "trunk/tokenizer/tokenizer.json: missing file"));
  EXPECT_TRUE(AnyProblemMentions(r, "group-0/stray.bin: extra file"));
  EXPECT_TRUE(AnyProblemMentions(r, "notes.txt: extra file"));
  EXPECT_TRUE(AnyProblemMentions(r, "overlay/empty-dir/: extra directory"));
  // trunk/tokenizer/ still exists (now empty) but is needed by a listed file: not "extra".
  EXPECT_FALSE(AnyProblemMentions(r, "trunk/tokenizer/: extra directory"));
  EXPECT_EQ(r.problems.size(), 4u) << DescribeProblems(r);
}

TEST_F(VerifyTest, StaleTemporaryFromAnInterruptedWriteIsAnExtraFile) {
  WriteBytes(dist_ / ".distribution.json.tmp.123.0", "{");
  WriteBytes(dist_ / "trunk/.model.safetensors.tmp.99.1", "partial");
  VerifyReport r = Verify();
  EXPECT_TRUE(AnyProblemMentions(r, ".distribution.json.tmp.123.0: extra file"))
      << DescribeProblems(r);
  EXPECT_TRUE(AnyProblemMentions(r, "trunk/.model.safetensors.tmp.99.1: extra file"));
  EXPECT_EQ(RemoveStaleTemporaries(dist_.string()).value(), 2u);
  EXPECT_TRUE(Verify().ok());
}

TEST_F(VerifyTest, SymlinkInPlaceOfAListedFileIsRefusedEvenWithTheRightContent) {
  fs::rename(dist_ / "group-0/experts.safetensors", tmp_.path() / "experts.safetensors");
  fs::create_symlink(tmp_.path() / "experts.safetensors", dist_ / "group-0/experts.safetensors");
  VerifyReport r = Verify();
  EXPECT_EQ(r.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(r, "group-0/experts.safetensors: listed file is a symbolic link"))
      << DescribeProblems(r);
}

TEST_F(VerifyTest, SymlinkedBundleDirectoryIsRefused) {
  fs::rename(dist_ / "group-0", tmp_.path() / "group-0");
  fs::create_directory_symlink(tmp_.path() / "group-0", dist_ / "group-0");
  VerifyReport r = Verify();
  EXPECT_EQ(r.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(r, "symbolic link")) << DescribeProblems(r);
}

TEST_F(VerifyTest, NodeScopePassesForItsNodeWhenAnotherNodesBundleIsMissing) {
  fs::remove_all(dist_ / "group-1");
  VerifyReport node0 = Verify([](VerifyOptions& o) { o.node = "node-0"; });
  EXPECT_TRUE(node0.ok()) << DescribeProblems(node0);
  EXPECT_EQ(node0.bundles_checked, (std::vector<std::string>{"group-0", "overlay", "trunk"}));

  VerifyReport node1 = Verify([](VerifyOptions& o) { o.node = "node-1"; });
  EXPECT_EQ(node1.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(node1, "group-1/: missing bundle directory"))
      << DescribeProblems(node1);
  ASSERT_EQ(node1.nodes.size(), 1u);
  EXPECT_FALSE(node1.nodes[0].ok);
  EXPECT_EQ(node1.nodes[0].bad_bundles, std::vector<std::string>{"group-1"});

  VerifyReport all = Verify();
  EXPECT_EQ(all.ExitCode(), 1);
  EXPECT_TRUE(all.nodes[0].ok);
  EXPECT_FALSE(all.nodes[1].ok);
}

TEST_F(VerifyTest, BundleScopeChecksOnlyThoseBundles) {
  // A front door holds the manifest and the trunk: the other bundles are absent, not extra.
  for (const char* b : {"group-0", "group-1", "overlay", "node-0", "node-1"}) {
    fs::remove_all(dist_ / b);
  }
  VerifyReport trunk = Verify([](VerifyOptions& o) { o.bundles = {"trunk"}; });
  EXPECT_TRUE(trunk.ok()) << DescribeProblems(trunk);
  EXPECT_EQ(trunk.bundles_checked, std::vector<std::string>{"trunk"});
  EXPECT_TRUE(trunk.nodes.empty());
  EXPECT_GT(trunk.files_checked, 0u);

  VerifyReport unknown = Verify([](VerifyOptions& o) { o.bundles = {"trunk", "group-9"}; });
  EXPECT_EQ(unknown.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(unknown, "bundle \"group-9\" is not in the manifest"))
      << DescribeProblems(unknown);
  EXPECT_EQ(Verify().ExitCode(), 1);  // the whole release is not there
}

TEST_F(VerifyTest, UnknownNodeFails) {
  VerifyReport r = Verify([](VerifyOptions& o) { o.node = "node-7"; });
  EXPECT_EQ(r.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(r, "node \"node-7\" is not in the manifest"))
      << DescribeProblems(r);
  EXPECT_EQ(r.files_checked, 0u);
}

TEST_F(VerifyTest, NodeNamingABundleTheManifestLacksFails) {
  json j = ParseJsonStrict(ReadBytes(dist_ / "distribution.json"), "m").value();
  j["nodes"][1]["bundles"].push_back("group-9");
  ResignWith(DumpJsonStable(j) + "\n");
  VerifyReport r = Verify();
  EXPECT_EQ(r.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(r, "node \"node-1\" needs bundle \"group-9\""))
      << DescribeProblems(r);
  EXPECT_TRUE(Verify([](VerifyOptions& o) { o.node = "node-0"; }).ok());
}

TEST_F(VerifyTest, LastAcceptedIsRecordedAtomicallyAndRollbackIsDetectedAcrossRuns) {
  const fs::path state_dir = tmp_.path() / "state";
  fs::create_directories(state_dir);
  const std::string state = (state_dir / "last-accepted.json").string();
  const fs::path v2 = MakeSignedRelease("dist-v2", 2);

  VerifyReport first = Verify([&](VerifyOptions& o) { o.last_accepted_path = state; });
  ASSERT_TRUE(first.ok()) << DescribeProblems(first);
  EXPECT_TRUE(first.recorded);
  EXPECT_EQ(ReadLastAccepted(state).value()->version, 1u);

  VerifyReport newer = Verify([&](VerifyOptions& o) {
    o.dist_dir = v2.string();
    o.last_accepted_path = state;
  });
  ASSERT_TRUE(newer.ok()) << DescribeProblems(newer);
  EXPECT_TRUE(newer.recorded);
  auto rec = ReadLastAccepted(state).value();
  EXPECT_EQ(rec->version, 2u);
  EXPECT_EQ(rec->name, "sample");
  EXPECT_EQ(rec->manifest_sha256, newer.manifest_sha256);
  // Published atomically: only the record and its lock file, no temporaries.
  std::vector<std::string> left = ListReleaseFiles(state_dir);
  EXPECT_EQ(left, (std::vector<std::string>{"last-accepted.json", "last-accepted.json.lock"}));

  VerifyReport older = Verify([&](VerifyOptions& o) { o.last_accepted_path = state; });
  EXPECT_EQ(older.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(older,
                                 "rollback refused: version 1 is older than the accepted "
                                 "version 2"))
      << DescribeProblems(older);
  EXPECT_FALSE(older.recorded);
  EXPECT_EQ(ReadLastAccepted(state).value()->version, 2u);

  VerifyReport again = Verify([&](VerifyOptions& o) {
    o.dist_dir = v2.string();
    o.last_accepted_path = state;
  });
  EXPECT_TRUE(again.ok()) << DescribeProblems(again);
  EXPECT_TRUE(again.nothing_new);
  EXPECT_FALSE(again.recorded);
}

TEST_F(VerifyTest, FailedVerifyDoesNotRecord) {
  const std::string state = (tmp_.path() / "la.json").string();
  fs::remove(dist_ / "overlay/empty.bin");
  VerifyReport r = Verify([&](VerifyOptions& o) { o.last_accepted_path = state; });
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(state));
}

TEST_F(VerifyTest, CorruptLastAcceptedFileFailsClosed) {
  const std::string state = (tmp_.path() / "la.json").string();
  WriteBytes(state, "{\"version\": \"seven\"}");
  VerifyReport r = Verify([&](VerifyOptions& o) { o.last_accepted_path = state; });
  EXPECT_EQ(r.ExitCode(), 3) << DescribeProblems(r);
  EXPECT_EQ(ReadBytes(state), "{\"version\": \"seven\"}");
}

TEST_F(VerifyTest, SameVersionWithDifferentBytesIsRefused) {
  const std::string state = (tmp_.path() / "la.json").string();
  ASSERT_TRUE(Verify([&](VerifyOptions& o) { o.last_accepted_path = state; }).ok());
  // Rebuild version 1 with other contents and re-sign: a second "version 1".
  json j = ParseJsonStrict(ReadBytes(dist_ / "distribution.json"), "m").value();
  j["validation"]["status"] = "passed";
  ResignWith(DumpJsonStable(j) + "\n");
  VerifyReport r = Verify([&](VerifyOptions& o) { o.last_accepted_path = state; });
  EXPECT_EQ(r.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(r, "already accepted with different manifest bytes"))
      << DescribeProblems(r);
}

TEST_F(VerifyTest, AnotherReleaseStreamIsRefusedByTheLastAcceptedRecord) {
  const std::string state = (tmp_.path() / "la.json").string();
  ASSERT_TRUE(Verify([&](VerifyOptions& o) { o.last_accepted_path = state; }).ok());
  json j = ParseJsonStrict(ReadBytes(dist_ / "distribution.json"), "m").value();
  j["release"]["name"] = "other";
  j["release"]["version"] = 9;
  ResignWith(DumpJsonStable(j) + "\n");
  VerifyReport r = Verify([&](VerifyOptions& o) { o.last_accepted_path = state; });
  EXPECT_TRUE(AnyProblemMentions(r, "is not the accepted release")) << DescribeProblems(r);
}

TEST_F(VerifyTest, UnsignedReleaseFailsUnlessExplicitlyAllowed) {
  fs::remove(dist_ / "distribution.json.sig");
  VerifyReport r = Verify();
  EXPECT_EQ(r.ExitCode(), 1);
  EXPECT_TRUE(AnyProblemMentions(r, "distribution.json.sig: missing: the release is not signed"));
  VerifyReport u = Verify([](VerifyOptions& o) {
    o.trusted_keys.clear();
    o.allow_unsigned = true;
  });
  EXPECT_TRUE(u.ok()) << DescribeProblems(u);
  EXPECT_FALSE(u.signature_checked);
  VerifyReport nokeys = Verify([](VerifyOptions& o) { o.trusted_keys.clear(); });
  EXPECT_EQ(nokeys.ExitCode(), 1);
}

TEST_F(VerifyTest, ExitClasses) {
  VerifyReport missing_dir =
      Verify([&](VerifyOptions& o) { o.dist_dir = (tmp_.path() / "none").string(); });
  EXPECT_EQ(missing_dir.ExitCode(), 4);
  fs::remove(dist_ / "distribution.json");
  VerifyReport missing_manifest = Verify();
  EXPECT_EQ(missing_manifest.ExitCode(), 4);
  EXPECT_TRUE(AnyProblemMentions(missing_manifest, "distribution.json: missing"));
  ResignWith("{\"schema_version\": 1}\n");
  VerifyReport malformed = Verify();
  EXPECT_EQ(malformed.ExitCode(), 3);
  ASSERT_EQ(malformed.problems.size(), 1u);
  EXPECT_EQ(malformed.problems[0].check, VerifyCheck::kSchema);
}

TEST_F(VerifyTest, ReportsEveryProblemNotJustTheFirst) {
  FlipBit(dist_ / "trunk/model.safetensors", 3);
  FlipBit(dist_ / "group-1/experts.safetensors", 100);
  fs::remove(dist_ / "group-0/experts.safetensors");
  VerifyReport r = Verify(
      [](VerifyOptions& o) { o.now = ParseRfc3339Utc("2031-01-01T00:00:00Z", "now").value(); });
  EXPECT_EQ(r.problems.size(), 4u) << DescribeProblems(r);
  EXPECT_EQ(r.problems[0].check, VerifyCheck::kExpiry);  // reported in check order
  EXPECT_TRUE(Names(r, "trunk/model.safetensors"));
  EXPECT_TRUE(Names(r, "group-1/experts.safetensors"));
  EXPECT_TRUE(Names(r, "group-0/experts.safetensors"));
}

TEST_F(VerifyTest, SingleThreadAndManyThreadsAgree) {
  FlipBit(dist_ / "overlay/experts.safetensors", 7);
  VerifyReport a = Verify([](VerifyOptions& o) { o.threads = 1; });
  VerifyReport b = Verify([](VerifyOptions& o) {
    o.threads = 8;
    o.digest.method = DigestReadMethod::kMmap;
  });
  EXPECT_EQ(DescribeProblems(a), DescribeProblems(b));
  EXPECT_EQ(a.problems.size(), 1u);
}

}  // namespace
}  // namespace moedist
