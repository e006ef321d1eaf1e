// The node-index extension of formats/hf_checkpoint (docs/formats/bundle.md): only an explicit
// release_root opens it, shards must stay inside the release, links are refused, and aliases and
// stacks are checked against the shards they name. The default Checkpoint::Open stays strict.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/json_strict.h"
#include "formats/hf_checkpoint.h"
#include "pack_fixture_testutil.h"

namespace moedist::pack_testing {
namespace {

namespace fs = std::filesystem;

// A packed release of the mixtral fixture to edit.
class NodeIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = LoadModelConfig(FixtureDir("mixtral"));
    ASSERT_TRUE(config.ok());
    auto r = PackRelease(MakeRequest(FixtureDir("mixtral"), TwoGroupPlan(*config), dist_));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    index_ = nlohmann::json::parse(ReadAll(node_ + "/model.safetensors.index.json"));
  }
  void WriteIndex(const nlohmann::json& j) {
    fs::permissions(node_ + "/model.safetensors.index.json", fs::perms::owner_write,
                    fs::perm_options::add);
    std::ofstream(node_ + "/model.safetensors.index.json", std::ios::trunc) << j.dump();
  }
  Result<std::unique_ptr<Checkpoint>> OpenNode() {
    return Checkpoint::Open(node_, CheckpointOpenOptions{dist_});
  }
  void ExpectRefused(const std::string& fragment) {
    auto c = OpenNode();
    ASSERT_FALSE(c.ok()) << "accepted";
    EXPECT_NE(c.status().message().find(fragment), std::string::npos) << c.status().ToString();
  }

  TempDir tmp_;
  std::string dist_ = tmp_.Sub("dist");
  std::string node_ = dist_ + "/node-1";
  nlohmann::json index_;
};

TEST_F(NodeIndexTest, OpensWithReleaseRootAndRenamesExperts) {
  auto c = OpenNode();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE((*c)->warnings().empty());
  // Node 1 holds experts 1, 3, 5, 7: local expert 2 is stored as expert 5 of group-1.
  const CheckpointTensor* t = (*c)->Find("model.layers.0.block_sparse_moe.experts.2.w1.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->info->name, "model.layers.0.block_sparse_moe.experts.5.w1.weight");
  EXPECT_EQ((*c)->Find("model.layers.0.block_sparse_moe.experts.4.w1.weight"), nullptr);
  const CheckpointTensor* router = (*c)->Find("model.layers.1.block_sparse_moe.gate.weight");
  ASSERT_NE(router, nullptr);
  EXPECT_EQ(router->shape(), (std::vector<uint64_t>{4, 64}));
  EXPECT_EQ((*c)->config().routing.num_experts, 4);
}

TEST_F(NodeIndexTest, DefaultOpenRefusesANodeIndex) {
  auto c = Checkpoint::Open(node_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("moedist_aliases"), std::string::npos)
      << c.status().ToString();
  auto parsed = ParseCheckpointIndex(ReadAll(node_ + "/model.safetensors.index.json"), "idx");
  EXPECT_FALSE(parsed.ok());
}

TEST_F(NodeIndexTest, NodeDirectoryMustBeInsideTheReleaseRoot) {
  auto c = Checkpoint::Open(node_, CheckpointOpenOptions{tmp_.Sub("elsewhere")});
  EXPECT_FALSE(c.ok());
  fs::create_directories(tmp_.Sub("elsewhere"));
  c = Checkpoint::Open(node_, CheckpointOpenOptions{tmp_.Sub("elsewhere")});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("not inside"), std::string::npos) << c.status().ToString();
  c = Checkpoint::Open(dist_, CheckpointOpenOptions{dist_});
  EXPECT_FALSE(c.ok()) << "the release root itself is not a node";
}

TEST_F(NodeIndexTest, RefusesShardPathsThatEscapeOrNest) {
  for (const char* bad :
       {"../../dist/trunk/model-00001-of-00001.safetensors",
        "../trunk/../trunk/model-00001-of-00001.safetensors", "/etc/passwd",
        "../trunk/sub/x.safetensors", "..\\trunk\\x", "./model-node.safetensors"}) {
    nlohmann::json j = index_;
    j["weight_map"]["model.norm.weight"] = bad;
    WriteIndex(j);
    ExpectRefused(bad);
  }
}

TEST_F(NodeIndexTest, RefusesSymlinkedBundlesAndShards) {
  const std::string trunk_shard =
      index_["weight_map"]["model.norm.weight"].get<std::string>().substr(9);  // after "../trunk/"
  fs::create_directory_symlink(dist_ + "/trunk", dist_ + "/linked");
  nlohmann::json j = index_;
  for (auto& [name, shard] : j["weight_map"].items()) {
    if (shard.get<std::string>().starts_with("../trunk/")) shard = "../linked/" + trunk_shard;
  }
  WriteIndex(j);
  ExpectRefused("symbolic link");
  fs::remove(dist_ + "/linked");
  fs::create_symlink(dist_ + "/trunk/" + trunk_shard, dist_ + "/group-1/linked.safetensors");
  j = index_;
  for (auto& [name, shard] : j["weight_map"].items()) {
    if (shard.get<std::string>().starts_with("../trunk/")) shard = "../group-1/linked.safetensors";
  }
  WriteIndex(j);
  ExpectRefused("symbolic link");
}

TEST_F(NodeIndexTest, RefusesBadAliasesAndStacks) {
  nlohmann::json j = index_;
  j["moedist_aliases"]["model.layers.0.block_sparse_moe.experts.2.w1.weight"] = "no.such.tensor";
  WriteIndex(j);
  ExpectRefused("no.such.tensor");

  j = index_;
  j["moedist_aliases"]["not.in.weight_map"] = "x";
  WriteIndex(j);
  ExpectRefused("not.in.weight_map");

  j = index_;  // two exposed names for one stored tensor
  j["weight_map"]["model.layers.0.block_sparse_moe.experts.9.w1.weight"] =
      j["weight_map"]["model.layers.0.block_sparse_moe.experts.2.w1.weight"];
  j["moedist_aliases"]["model.layers.0.block_sparse_moe.experts.9.w1.weight"] =
      "model.layers.0.block_sparse_moe.experts.5.w1.weight";
  WriteIndex(j);
  ExpectRefused("two names");

  const std::string shard =
      j["weight_map"]["model.layers.0.block_sparse_moe.experts.2.w1.weight"].get<std::string>();
  const std::string src = "model.layers.0.block_sparse_moe.experts.5.w1.weight";
  j = index_;
  j["moedist_stacks"]["stacked"] = {
      {"dtype", "F32"},
      {"shape", {2, 32, 64}},
      {"parts",
       {{{"shard", shard}, {"tensor", src}, {"begin", 0}, {"end", 8192}},
        {{"shard", shard}, {"tensor", src}, {"begin", 0}, {"end", 8192}}}}};
  WriteIndex(j);
  {
    auto c = OpenNode();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    const CheckpointTensor* t = (*c)->Find("stacked");
    ASSERT_NE(t, nullptr);
    const CheckpointTensor* s = (*c)->Find("model.layers.0.block_sparse_moe.experts.2.w1.weight");
    ASSERT_EQ(s->num_bytes(), 16384u);  // Mixtral experts: [64, 64] f32
    EXPECT_TRUE(std::equal(s->bytes().begin(), s->bytes().begin() + 8192, t->bytes().begin()));
    EXPECT_TRUE(
        std::equal(s->bytes().begin(), s->bytes().begin() + 8192, t->bytes().begin() + 8192));
  }
  j["moedist_stacks"]["stacked"]["parts"][1]["end"] = 16385;
  WriteIndex(j);
  ExpectRefused("holds only");
  j["moedist_stacks"]["stacked"]["parts"][1]["end"] = 4096;
  WriteIndex(j);
  ExpectRefused("need");
  j["moedist_stacks"]["stacked"]["parts"][1]["begin"] = 5000;
  WriteIndex(j);
  ExpectRefused("before begin");
  j["moedist_stacks"]["stacked"]["extra"] = 1;
  WriteIndex(j);
  ExpectRefused("unknown field");

  j = index_;
  j["moedist_future"] = {};
  WriteIndex(j);
  ExpectRefused("moedist_future");
}

}  // namespace
}  // namespace moedist::pack_testing
