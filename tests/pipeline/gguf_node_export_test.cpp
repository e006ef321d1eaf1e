// Node GGUFs (issue 7): names, refusals, and that the bytes in each GGUF are the node's tensors
// under llama.cpp's layout (merged experts, widened 1-D tensors, Mixtral's q/k row order, routers
// sliced for mask-mode nodes), and that pack --format gguf publishes only the node files.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "core/json_strict.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_tensor_names.h"
#include "gguf_node_testutil.h"
#include "pack_fixture_testutil.h"
#include "quant/half_float.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
using pack_testing::FixtureDir;
using pack_testing::TempDir;

struct PackedNode {
  TempDir dir;
  std::shared_ptr<const GgufFile> gguf;
  std::unique_ptr<Checkpoint> node;  // the safetensors node of the same release
  NodeInfo info;
};

std::unique_ptr<PackedNode> PackFamily(const std::string& family,
                                       NodeFileFormat format = NodeFileFormat::kBoth) {
  auto out = std::make_unique<PackedNode>();
  gguf_testing::GgufCase c{family, FixtureDir(family), KeepRecipe(), false};
  const std::string dist = out->dir.Sub("dist");
  auto report = gguf_testing::PackCase(c, dist, format);
  EXPECT_TRUE(report.ok()) << report.status().ToString();
  if (!report.ok()) return nullptr;
  out->info = report->nodes.at(0);
  auto gguf = GgufFile::Open(dist + "/node-0/node-0.gguf");
  EXPECT_TRUE(gguf.ok()) << gguf.status().ToString();
  if (!gguf.ok()) return nullptr;
  out->gguf = *gguf;
  if (format == NodeFileFormat::kBoth) {
    auto node = Checkpoint::Open(dist + "/node-0", CheckpointOpenOptions{dist});
    EXPECT_TRUE(node.ok()) << node.status().ToString();
    if (node.ok()) out->node = std::move(node).value();
  }
  return out;
}

std::span<const uint8_t> GgufBytes(const GgufFile& f, const std::string& name) {
  const GgufTensorInfo* t = f.FindTensor(name);
  EXPECT_NE(t, nullptr) << name;
  return t ? f.TensorBytes(*t) : std::span<const uint8_t>();
}

TEST(GgufTensorNames, EveryFixtureTensorHasALlamaCppNameAndMapsBack) {
  for (const std::string& family : pack_testing::Families()) {
    auto ckpt = Checkpoint::Open(FixtureDir(family));
    ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
    auto arch = GgufArchForFamily((*ckpt)->config().family);
    ASSERT_TRUE(arch.ok());
    for (const CheckpointTensor& t : (*ckpt)->tensors()) {
      auto m = MapHfTensorName(t.name, (*ckpt)->config().weight_prefix);
      ASSERT_TRUE(m.ok()) << family << ": " << m.status().ToString();
      if (m->kind == GgufTensorName::Kind::kPlain) {
        auto back = HfNameForGguf(*arch, m->gguf, (*ckpt)->config().weight_prefix);
        ASSERT_TRUE(back.ok()) << back.status().ToString();
        EXPECT_EQ(*back, t.name) << family;
      } else if (m->kind == GgufTensorName::Kind::kExpert) {
        EXPECT_EQ(HfExpertName(*arch, m->layer, m->expert, m->proj, ""), t.name);
      }
    }
  }
  EXPECT_FALSE(MapHfTensorName("model.layers.0.mlp.mystery.weight", "").ok());
}

TEST(GgufNodeExport, GroupedTopKIsRefusedBeforeAnythingIsWritten) {
  TempDir dir;
  gguf_testing::GgufCase c{"deepseek_v3", FixtureDir("deepseek_v3"), KeepRecipe(), true};
  auto report = gguf_testing::PackCase(c, dir.Sub("dist"), NodeFileFormat::kGguf);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(report.status().message().find("grouped top-k"), std::string::npos)
      << report.status().ToString();
  EXPECT_TRUE(pack_testing::ListFiles(dir.Sub("dist")).empty());
}

// DeepSeek-V3 split into whole router groups (0-1 | 2-3, topk_group 2): each node is sliced with
// n_group 1 in its config, and its GGUF carries 8 experts and no group keys (plain top-k).
TEST(GgufNodeExport, WholeRouterGroupsOfAGroupedRouterAreSlicedAndExported) {
  TempDir dir;
  gguf_testing::GgufCase c{
      "deepseek_v3_groups", FixtureDir("deepseek_v3"), KeepRecipe(), false, false, 2};
  auto report = gguf_testing::PackCase(c, dir.Sub("dist"), NodeFileFormat::kBoth);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->nodes.size(), 2u);
  for (const NodeInfo& info : report->nodes) {
    SCOPED_TRACE(info.node);
    EXPECT_EQ(info.mode, NodeMode::kSlice) << info.mode_reason;
    auto cfg = LoadModelConfig(dir.Sub("dist/" + info.node));
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
    EXPECT_EQ(cfg->routing.num_experts, 8);
    EXPECT_EQ(cfg->routing.n_group, 1);
    EXPECT_EQ(cfg->routing.topk_group, 1);
    auto gguf = GgufFile::Open(dir.Sub("dist/" + info.node + "/" + info.node + ".gguf"));
    ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
    EXPECT_EQ((*gguf)->FindValue("deepseek2.expert_group_count"), nullptr);
    EXPECT_EQ(*(*gguf)->GetU32("deepseek2.expert_count"), 8u);
  }
}

// One node of all four router groups (topk_group 2): its router stays grouped top-k, so the GGUF
// says so with llama.cpp's group keys.
TEST(GgufNodeExport, MoreWholeRouterGroupsThanTopkGroupCarryGroupKeys) {
  TempDir dir;
  gguf_testing::GgufCase c{
      "deepseek_v3_whole", FixtureDir("deepseek_v3"), KeepRecipe(), false, false, 1};
  auto report = gguf_testing::PackCase(c, dir.Sub("dist"), NodeFileFormat::kBoth);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->nodes.size(), 1u);
  EXPECT_EQ(report->nodes[0].mode, NodeMode::kSlice) << report->nodes[0].mode_reason;
  auto gguf = GgufFile::Open(dir.Sub("dist/node-0/node-0.gguf"));
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  EXPECT_EQ(*(*gguf)->GetU32("deepseek2.expert_group_count"), 4u);
  EXPECT_EQ(*(*gguf)->GetU32("deepseek2.expert_group_used_count"), 2u);
  EXPECT_EQ(*(*gguf)->GetU32("deepseek2.expert_count"), 16u);
}

TEST(GgufNodeExport, MergedExpertsAreTheNodesExpertsInLocalOrder) {
  auto p = PackFamily("qwen3_moe");
  ASSERT_TRUE(p && p->node);
  for (const auto& [layer, nl] : p->info.layers) {
    const int n = static_cast<int>(nl.held.size());
    const GgufTensorInfo* t = p->gguf->FindTensor(MergedExpertName(layer, ExpertProj::kUp));
    ASSERT_NE(t, nullptr);
    ASSERT_EQ(t->ne.size(), 3u);
    EXPECT_EQ(t->ne[2], static_cast<uint64_t>(n));
    const auto merged = p->gguf->TensorBytes(*t);
    uint64_t at = 0;
    for (int x = 0; x < n; ++x) {
      const CheckpointTensor* e =
          p->node->Find("model.layers." + std::to_string(layer) + ".mlp.experts." +
                        std::to_string(x) + ".up_proj.weight");
      ASSERT_NE(e, nullptr);
      ASSERT_LE(at + e->num_bytes(), merged.size());
      EXPECT_EQ(0, std::memcmp(merged.data() + at, e->bytes().data(), e->num_bytes())) << x;
      at += e->num_bytes();
    }
    EXPECT_EQ(at, merged.size());
  }
  EXPECT_EQ(*p->gguf->GetU32("qwen3moe.expert_count"), p->info.layers.begin()->second.held.size());
}

TEST(GgufNodeExport, Bf16NormsAreWidenedExactlyAndListed) {
  auto p = PackFamily("qwen3_moe");
  ASSERT_TRUE(p && p->node);
  const CheckpointTensor* hf = p->node->Find("model.layers.1.input_layernorm.weight");
  ASSERT_NE(hf, nullptr);
  ASSERT_EQ(hf->dtype(), DType::kBF16);
  const GgufTensorInfo* t = p->gguf->FindTensor("blk.1.attn_norm.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->type, GgmlType::kF32);
  const auto bytes = p->gguf->TensorBytes(*t);
  for (uint64_t i = 0; i < hf->shape()[0]; ++i) {
    uint16_t b;
    float f;
    std::memcpy(&b, hf->bytes().data() + 2 * i, 2);
    std::memcpy(&f, bytes.data() + 4 * i, 4);
    EXPECT_EQ(f, BF16ToF32(b));
  }
  auto widened = p->gguf->GetArray("moedist.widened", GgufValueType::kString);
  ASSERT_TRUE(widened.ok());
  const auto& list = (*widened)->strings();
  EXPECT_NE(std::find(list.begin(), list.end(), "blk.1.attn_norm.weight:BF16"), list.end());
}

TEST(GgufNodeExport, MixtralQueryRowsArePairedForNormRope) {
  auto p = PackFamily("mixtral");
  ASSERT_TRUE(p && p->node);
  const ModelConfig& c = p->node->config();
  const CheckpointTensor* hf = p->node->Find("model.layers.0.self_attn.q_proj.weight");
  ASSERT_NE(hf, nullptr);
  const auto gguf = GgufBytes(*p->gguf, "blk.0.attn_q.weight");
  const uint64_t row = hf->shape()[1] * 4, hd = c.attention.head_dim;
  // HF pairs dimension j with j + hd/2 (rotate_half); llama.cpp's NORM rope pairs 2j with 2j+1.
  for (int h = 0; h < c.attention.num_heads; ++h) {
    for (uint64_t j = 0; j < hd / 2; ++j) {
      const uint8_t* first = gguf.data() + (h * hd + 2 * j) * row;
      EXPECT_EQ(0, std::memcmp(first, hf->bytes().data() + (h * hd + j) * row, row));
      EXPECT_EQ(0, std::memcmp(first + row, hf->bytes().data() + (h * hd + j + hd / 2) * row, row));
    }
  }
  // v is not rotated, so it is copied unchanged.
  const CheckpointTensor* v = p->node->Find("model.layers.0.self_attn.v_proj.weight");
  const auto gv = GgufBytes(*p->gguf, "blk.0.attn_v.weight");
  ASSERT_EQ(gv.size(), v->num_bytes());
  EXPECT_EQ(0, std::memcmp(gv.data(), v->bytes().data(), gv.size()));
}

TEST(GgufNodeExport, MaskModeRoutersAreSlicedToTheHeldExperts) {
  for (const std::string family : {"qwen2_moe"}) {
    auto p = PackFamily(family);
    ASSERT_TRUE(p && p->node);
    ASSERT_EQ(p->info.mode, NodeMode::kMask) << family;
    for (const auto& [layer, nl] : p->info.layers) {
      const CheckpointTensor* full =
          p->node->Find("model.layers." + std::to_string(layer) + ".mlp.gate.weight");
      ASSERT_NE(full, nullptr);
      const GgufTensorInfo* t =
          p->gguf->FindTensor("blk." + std::to_string(layer) + ".ffn_gate_inp.weight");
      ASSERT_NE(t, nullptr);
      ASSERT_EQ(t->ne[1], nl.held.size());
      const uint64_t row = full->shape()[1] * 4;
      for (size_t j = 0; j < nl.held.size(); ++j) {
        EXPECT_EQ(0, std::memcmp(p->gguf->TensorBytes(*t).data() + j * row,
                                 full->bytes().data() + nl.held[j] * row, row))
            << family << " layer " << layer << " slot " << j;
      }
    }
    auto cfg = ParseModelConfig(std::string(*p->gguf->GetString("moedist.hf_config")), "gguf");
    ASSERT_TRUE(cfg.ok());
    EXPECT_EQ(cfg->routing.num_experts,
              static_cast<int>(p->info.layers.begin()->second.held.size()));
  }
}

TEST(GgufNodeExport, OlmoeWithFewerKeyValueHeadsIsRefused) {
  TempDir dir;
  gguf_testing::GgufCase c{"olmoe", FixtureDir("olmoe"), KeepRecipe(), true};
  auto report = gguf_testing::PackCase(c, dir.Sub("dist"), NodeFileFormat::kBoth);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(report.status().message().find("k_norm"), std::string::npos)
      << report.status().ToString();
}

TEST(GgufNodeExport, FormatGgufPublishesOnlyTheNodeFiles) {
  auto p = PackFamily("mixtral", NodeFileFormat::kGguf);
  ASSERT_TRUE(p);
  const std::string dist = p->dir.Sub("dist");
  const std::vector<std::string> files = pack_testing::ListFiles(dist);
  EXPECT_EQ(files, (std::vector<std::string>{"distribution.json", "node-0/node-0.gguf",
                                             "node-1/node-1.gguf"}));
  auto manifest = ParseJsonStrict(pack_testing::ReadAll(dist + "/distribution.json"), "d");
  ASSERT_TRUE(manifest.ok());
  EXPECT_NE(manifest->dump().find("node-0.gguf"), std::string::npos);
}

}  // namespace
}  // namespace moedist
