// diff between two releases: experts moved, overlay, changed keys, files, per-node downloads.
#include "manifest/release_diff.h"

#include <gtest/gtest.h>

#include "tests/manifest/manifest_testutil.h"

namespace moedist {
namespace {

using namespace moedist::testing;
using nlohmann::json;

TEST(DiffJson, ReportsChangedAddedAndRemovedKeysByPointer) {
  json a = {{"trunk", "q8_0"}, {"experts", {{"type", "q4_k"}, {"a/b", 1}}}, {"gone", 1}};
  json b = {{"trunk", "q8_0"}, {"experts", {{"type", "q6_k"}, {"a/b", 1.0}}}, {"new", 2}};
  auto changes = DiffJson(a, b);
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[0].pointer, "/experts/a~1b");  // 1 -> 1.0 is a byte change
  EXPECT_EQ(changes[1].pointer, "/experts/type");
  EXPECT_EQ(changes[1].kind, "changed");
  EXPECT_EQ(changes[1].new_value, "q6_k");
  EXPECT_EQ(changes[2].pointer, "/gone");
  EXPECT_EQ(changes[2].kind, "removed");
  EXPECT_EQ(changes[3].pointer, "/new");
  EXPECT_EQ(changes[3].kind, "added");
  EXPECT_TRUE(DiffJson(a, a).empty());
}

class ReleaseDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_ = BuildSampleRelease(tmp_.path() / "v1", 1);
    DistributionSections s = WriteSampleRelease(tmp_.path() / "v2", 2);
    // Layer 0: experts 1 and 2 swap groups; layer 1 unchanged groups, overlay 4 -> 3,4->5.
    s.partition["layers"]["0"]["groups"] = {{0, 2}, {1, 3}};
    s.partition["layers"]["1"]["overlay"] = {5};
    s.partition["layers"]["7"] = {{"groups", {{0}, {1}}}};
    s.recipe["experts"] = "q6_k";
    s.nodes.push_back({"node-2", {"trunk", "group-2"}, {}});
    WriteBytes(tmp_.path() / "v2/group-2/experts.safetensors", "new group");
    fs::remove(tmp_.path() / "v2/trunk/tokenizer/tokenizer.json");
    fs::remove(tmp_.path() / "v2/trunk/tokenizer");
    // A file that only moves between bundles costs no download.
    fs::copy_file(tmp_.path() / "v1/group-0/experts.safetensors",
                  tmp_.path() / "v2/overlay/moved.safetensors");
    auto d = BuildDistribution((tmp_.path() / "v2").string(), s);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    new_ = std::move(d).value();
  }
  TempDir tmp_;
  Distribution old_, new_;
};

TEST_F(ReleaseDiffTest, ExpertsMovedPerLayerAndOverlayChanges) {
  ReleaseDiff d = DiffReleases(old_, new_);
  EXPECT_EQ(d.old_release.version, 1u);
  EXPECT_EQ(d.new_release.version, 2u);
  EXPECT_EQ(d.layers_added, std::vector<uint32_t>{7});
  ASSERT_EQ(d.moved.size(), 2u);
  EXPECT_EQ(d.moved[0].layer, 0u);
  EXPECT_EQ(d.moved[0].expert, 1u);
  EXPECT_EQ(d.moved[0].from_group, 0u);
  EXPECT_EQ(d.moved[0].to_group, 1u);
  EXPECT_EQ(d.moved[1].expert, 2u);
  ASSERT_EQ(d.overlay.size(), 1u);
  EXPECT_EQ(d.overlay[0].layer, 1u);
  EXPECT_EQ(d.overlay[0].added, std::vector<uint32_t>{5});
  EXPECT_EQ(d.overlay[0].removed, std::vector<uint32_t>{4});
}

TEST_F(ReleaseDiffTest, RecipeChangesAreChangedKeys) {
  ReleaseDiff d = DiffReleases(old_, new_);
  ASSERT_FALSE(d.sections.empty());
  EXPECT_EQ(d.sections[0].first, "recipe");
  ASSERT_EQ(d.sections[0].second.size(), 1u);
  EXPECT_EQ(d.sections[0].second[0].pointer, "/experts");
  EXPECT_EQ(d.sections[0].second[0].old_value, "q4_k");
}

TEST_F(ReleaseDiffTest, FilesAddedRemovedChangedAndNodeDownloads) {
  ReleaseDiff d = DiffReleases(old_, new_);
  std::vector<std::string> lines;
  for (const FileChange& f : d.files) lines.push_back(f.kind + " " + f.bundle + "/" + f.path);
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "changed group-1/experts.safetensors", "added group-2/experts.safetensors",
                "added overlay/moved.safetensors", "removed trunk/tokenizer/tokenizer.json"}));
  EXPECT_EQ(d.bundles_added, std::vector<std::string>{"group-2"});
  ASSERT_EQ(d.nodes.size(), 3u);
  // node-0: overlay/moved.safetensors has a digest the old release had (group-0's file).
  EXPECT_EQ(d.nodes[0].id, "node-0");
  EXPECT_EQ(d.nodes[0].download_bytes, 0u);
  EXPECT_EQ(d.nodes[0].download_bytes_own, 0u);  // node-0 held group-0 before
  // node-1: its changed group-1 file; moved.safetensors is not in its own old bundles.
  EXPECT_EQ(d.nodes[1].download_bytes, 3000u);
  EXPECT_EQ(d.nodes[1].download_files, 1u);
  EXPECT_EQ(d.nodes[1].download_bytes_own, 3000u + 3000u);
  // node-2 is new: everything not already in the old release.
  EXPECT_TRUE(d.nodes[2].new_node);
  EXPECT_EQ(d.nodes[2].download_bytes, std::string("new group").size());
  json j = ReleaseDiffToJson(d);
  EXPECT_EQ(j["nodes"][1]["download_bytes"], 3000);
  EXPECT_EQ(j["partition"]["experts_moved"].size(), 2u);
}

TEST(LoadDistribution, AcceptsAFileOrADirectory) {
  TempDir tmp;
  BuildSampleRelease(tmp.path(), 1);
  EXPECT_TRUE(LoadDistribution(tmp.str()).ok());
  EXPECT_TRUE(LoadDistribution((tmp.path() / "distribution.json").string()).ok());
  EXPECT_EQ(LoadDistribution((tmp.path() / "none").string()).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace moedist
