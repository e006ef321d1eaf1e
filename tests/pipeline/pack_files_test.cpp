// Every file pack writes is read back by moedist's strict readers (reliability row 16), the
// release verifies, and packing is deterministic: twice, and with 1 or 3 threads, gives
// byte-identical files. Also: a second pack into a locked directory fails fast (row 34), a
// directory holding foreign files is refused, and a repack with another plan removes the
// earlier release's stale files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/json_strict.h"
#include "formats/hf_checkpoint.h"
#include "formats/safetensors_reader.h"
#include "manifest/distribution.h"
#include "manifest/release_stage.h"
#include "manifest/release_verify.h"
#include "pack_fixture_testutil.h"
#include "pipeline/node_bundle.h"
#include "pipeline/pack_output_dir.h"

namespace moedist::pack_testing {
namespace {

namespace fs = std::filesystem;

// Parses `rel` (a file of the release in `dist`) with the reader for its kind.
void ExpectStrictlyReadable(const std::string& dist, const std::string& rel) {
  SCOPED_TRACE(rel);
  const std::string path = dist + "/" + rel;
  const std::string name = fs::path(rel).filename().string();
  const std::string dir = fs::path(path).parent_path().string();
  if (name.ends_with(".safetensors")) {
    auto f = SafetensorsFile::Open(path);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
  } else if (name == "distribution.json") {
    auto d = ParseDistribution(ReadAll(path), path);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
  } else if (name == "model.safetensors.index.json") {
    const bool node = fs::exists(dir + "/moedist_node.json");
    auto idx = node ? ParseNodeCheckpointIndex(ReadAll(path), path)
                    : ParseCheckpointIndex(ReadAll(path), path);
    EXPECT_TRUE(idx.ok()) << idx.status().ToString();
  } else if (name == "moedist_node.json") {
    auto info = ReadNodeInfo(dir);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    auto ckpt = Checkpoint::Open(dir, CheckpointOpenOptions{dist});
    EXPECT_TRUE(ckpt.ok()) << ckpt.status().ToString();
    if (ckpt.ok()) {
      EXPECT_TRUE((*ckpt)->warnings().empty());
    }
  } else if (name == "config.json") {
    auto c = LoadModelConfig(dir);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
  } else if (name.ends_with(".json")) {
    auto j = ParseJsonStrict(ReadAll(path), path);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
  } else {
    ADD_FAILURE() << "pack wrote a file this test does not know how to read";
  }
}

void ExpectSameFiles(const std::string& a, const std::string& b) {
  const auto files = ListFiles(a);
  ASSERT_EQ(files, ListFiles(b));
  for (const std::string& f : files) {
    EXPECT_TRUE(ReadAll(a + "/" + f) == ReadAll(b + "/" + f)) << f << " differs";
  }
}

class PackFilesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PackFilesTest, EveryFileReadsBackStrictlyAndTheReleaseVerifies) {
  const std::string family = GetParam();
  auto config = LoadModelConfig(FixtureDir(family));
  ASSERT_TRUE(config.ok());
  TempDir tmp;
  const std::string dist = tmp.Sub("dist");
  auto report = PackRelease(MakeRequest(FixtureDir(family), TwoGroupPlan(*config), dist));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const auto files = ListFiles(dist);
  EXPECT_EQ(files.size(), report->files.size() + 1);  // + distribution.json
  for (const std::string& f : files) ExpectStrictlyReadable(dist, f);

  VerifyOptions vo;
  vo.dist_dir = dist;
  vo.allow_unsigned = true;
  vo.now = 1767225600 + 86400;  // a day after --created
  VerifyReport verdict = VerifyRelease(vo);
  EXPECT_EQ(verdict.ExitCode(), 0) << VerifyReportToJson(verdict).dump(2);

  // Node bundles do not copy the bulk: only their own small shard is a safetensors file.
  for (const std::string& f : files) {
    if (f.starts_with("node-") && f.ends_with(".safetensors")) {
      EXPECT_LT(fs::file_size(dist + "/" + f), 64u << 10) << f;
    }
  }
}

TEST_P(PackFilesTest, PackingTwiceAndWithThreadsIsByteIdentical) {
  const std::string family = GetParam();
  auto config = LoadModelConfig(FixtureDir(family));
  ASSERT_TRUE(config.ok());
  TempDir tmp;
  PackRequest req = MakeRequest(FixtureDir(family), TwoGroupPlan(*config), tmp.Sub("a"));
  req.shard_bytes = 64 << 10;  // several shards per bundle
  ASSERT_TRUE(PackRelease(req).ok());
  req.out_dir = tmp.Sub("b");
  req.threads = 3;
  auto second = PackRelease(req);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ExpectSameFiles(tmp.Sub("a"), tmp.Sub("b"));
  // Packing again into the same directory rewrites the same bytes and keeps the manifest.
  const std::string manifest = ReadAll(tmp.Sub("a") + "/distribution.json");
  req.out_dir = tmp.Sub("a");
  auto again = PackRelease(req);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->removed.empty());
  EXPECT_EQ(ReadAll(tmp.Sub("a") + "/distribution.json"), manifest);
  ExpectSameFiles(tmp.Sub("a"), tmp.Sub("b"));
}

INSTANTIATE_TEST_SUITE_P(Families, PackFilesTest, ::testing::ValuesIn(Families()),
                         [](const auto& info) { return info.param; });

TEST(PackOutputDir, SecondPackIntoALockedDirectoryFailsFastNamingTheLock) {
  TempDir tmp;
  const std::string dist = tmp.Sub("dist");
  auto lock = LockRelease(dist);
  ASSERT_TRUE(lock.ok());
  auto config = LoadModelConfig(FixtureDir("qwen3_moe"));
  ASSERT_TRUE(config.ok());
  auto r = PackRelease(MakeRequest(FixtureDir("qwen3_moe"), TwoGroupPlan(*config), dist));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find(ReleaseLockPath(dist)), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(dist));
}

TEST(PackOutputDir, RefusesADirectoryWithForeignFiles) {
  TempDir tmp;
  const std::string dist = tmp.Sub("dist");
  fs::create_directories(dist + "/trunk");
  { std::ofstream(dist + "/trunk/notes.txt") << "mine"; }
  auto config = LoadModelConfig(FixtureDir("qwen3_moe"));
  ASSERT_TRUE(config.ok());
  auto r = PackRelease(MakeRequest(FixtureDir("qwen3_moe"), TwoGroupPlan(*config), dist));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("trunk/notes.txt"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(ReadAll(dist + "/trunk/notes.txt"), "mine");
}

TEST(PackOutputDir, RepackWithFewerGroupsRemovesStaleBundles) {
  auto config = LoadModelConfig(FixtureDir("mixtral"));
  ASSERT_TRUE(config.ok());
  TempDir tmp;
  const std::string dist = tmp.Sub("dist");
  ExpertPlan three = TwoGroupPlan(*config);
  three.num_groups = 3;
  for (auto& [layer, lp] : three.layers) {
    lp = LayerPlan{{{0, 1}, {2, 4, 5}, {6, 7}}, {3}};
  }
  ASSERT_TRUE(PackRelease(MakeRequest(FixtureDir("mixtral"), three, dist)).ok());
  ASSERT_TRUE(fs::exists(dist + "/group-2"));
  auto r = PackRelease(MakeRequest(FixtureDir("mixtral"), TwoGroupPlan(*config), dist));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(fs::exists(dist + "/group-2"));
  EXPECT_FALSE(fs::exists(dist + "/node-2"));
  EXPECT_FALSE(r->removed.empty());
  // The result equals a pack into an empty directory.
  ASSERT_TRUE(
      PackRelease(MakeRequest(FixtureDir("mixtral"), TwoGroupPlan(*config), tmp.Sub("fresh")))
          .ok());
  ExpectSameFiles(dist, tmp.Sub("fresh"));
}

}  // namespace
}  // namespace moedist::pack_testing
