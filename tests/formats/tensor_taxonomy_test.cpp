#include "formats/tensor_taxonomy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "formats/checkpoint_inventory.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
const fs::path kHfTiny = fs::path(moedist::test_dirs::FixtureRoot()) / "fixtures" / "hf-tiny";

std::unique_ptr<Checkpoint> OpenFixture(const std::string& family) {
  auto ckpt = Checkpoint::Open((kHfTiny / family).string());
  EXPECT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  return ckpt.ok() ? std::move(ckpt).value() : nullptr;
}

struct FamilyCase {
  std::string family;
  int layers;
  std::vector<int> moe_layers;
  int experts;
  int top_k;
  int routed_tensors;  // expert tensors (per-expert or packed)
  int router_tensors;  // router weights + router biases
  int shared_tensors;  // shared experts + shared-expert gates
  int dense_tensors;
};

class FixtureTaxonomy : public testing::TestWithParam<FamilyCase> {};

// The numbers come from the fixture README's tensor listings (written by transformers).
INSTANTIATE_TEST_SUITE_P(HfTiny, FixtureTaxonomy,
                         testing::Values(FamilyCase{"qwen3_moe", 2, {0, 1}, 8, 2, 48, 2, 0, 0},
                                         FamilyCase{"qwen2_moe", 2, {0, 1}, 8, 4, 48, 2, 8, 0},
                                         FamilyCase{"mixtral", 2, {0, 1}, 8, 2, 48, 2, 0, 0},
                                         FamilyCase{"olmoe", 2, {0, 1}, 16, 4, 96, 2, 0, 0},
                                         FamilyCase{"deepseek_v3", 3, {1, 2}, 16, 4, 96, 4, 6, 3},
                                         FamilyCase{"llama4", 4, {0, 1, 2, 3}, 8, 1, 8, 4, 12, 0}),
                         [](const auto& info) { return info.param.family; });

TEST_P(FixtureTaxonomy, EveryTensorClassifiedAndCountsMatchConfig) {
  const FamilyCase& fc = GetParam();
  auto ckpt = OpenFixture(fc.family);
  ASSERT_NE(ckpt, nullptr);
  const ModelConfig& c = ckpt->config();
  EXPECT_EQ(FamilyName(c.family), fc.family);
  EXPECT_EQ(c.num_layers, fc.layers);
  EXPECT_EQ(c.MoeLayers(), fc.moe_layers);
  EXPECT_EQ(c.routing.num_experts, fc.experts);
  EXPECT_EQ(c.routing.top_k, fc.top_k);

  std::vector<std::string> unclassified;
  auto classified = ClassifyCheckpoint(*ckpt, &unclassified);
  ASSERT_TRUE(classified.ok()) << classified.status().ToString();
  EXPECT_TRUE(unclassified.empty());
  EXPECT_EQ(classified->size(), ckpt->tensors().size());
  std::map<TensorClass, int> count;
  for (const auto& ct : *classified) count[ct.role.cls]++;
  EXPECT_EQ(count[TensorClass::kRoutedExpert] + count[TensorClass::kRoutedExpertsPacked],
            fc.routed_tensors);
  EXPECT_EQ(count[TensorClass::kRouterWeight] + count[TensorClass::kRouterBias], fc.router_tensors);
  EXPECT_EQ(count[TensorClass::kSharedExpert] + count[TensorClass::kSharedExpertGate],
            fc.shared_tensors);
  EXPECT_EQ(count[TensorClass::kDenseMlp], fc.dense_tensors);
  EXPECT_EQ(count[TensorClass::kEmbedding], 1);
  EXPECT_EQ(count[TensorClass::kLmHead], 1);
}

TEST_P(FixtureTaxonomy, TrunkPlusRoutedEqualsTotalExactly) {
  auto ckpt = OpenFixture(GetParam().family);
  ASSERT_NE(ckpt, nullptr);
  auto inv = InventoryCheckpoint(*ckpt, 2);
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  uint64_t sum = 0;
  for (const auto& t : ckpt->tensors()) sum += t.num_bytes();
  EXPECT_EQ(inv->total_bytes, sum);
  EXPECT_EQ(inv->trunk_bytes + inv->routed_bytes, inv->total_bytes);
  EXPECT_GT(inv->routed_bytes, 0u);
  uint64_t per_expert_sum = 0, per_layer_sum = 0;
  for (const auto& li : inv->layers) {
    per_layer_sum += li.trunk_bytes + li.routed_bytes;
    for (uint64_t b : li.expert_bytes) per_expert_sum += b;
  }
  EXPECT_EQ(per_expert_sum, inv->routed_bytes);
  // Layer sums miss only the tensors outside layers (embeddings, final norm, lm_head).
  EXPECT_LT(per_layer_sum, inv->total_bytes);
  ASSERT_TRUE(inv->node.has_value());
  EXPECT_EQ(inv->node->experts_per_node, GetParam().experts / 2);
  EXPECT_EQ(inv->node->node_bytes, inv->trunk_bytes + inv->routed_bytes / 2);
}

// Llama-4 packs all experts of a layer in one tensor: the per-expert slices must reassemble the
// original bytes, and the gate and up parts must interleave back into each expert's rows.
TEST(PackedExperts, Llama4SlicesReassembleToOriginalBytes) {
  auto ckpt = OpenFixture("llama4");
  ASSERT_NE(ckpt, nullptr);
  const ModelConfig& c = ckpt->config();
  int packed = 0;
  for (const CheckpointTensor& t : ckpt->tensors()) {
    auto role = ClassifyTensor(t.name, c);
    ASSERT_TRUE(role.ok()) << role.status().ToString();
    if (role->cls != TensorClass::kRoutedExpertsPacked) continue;
    ++packed;
    auto views = PackedExpertViews(t, *role, c);
    ASSERT_TRUE(views.ok()) << views.status().ToString();
    std::vector<uint8_t> whole, from_parts(t.num_bytes());
    for (const ExpertView& v : *views) {
      if (v.projection == role->projection) {  // whole-expert slice
        std::vector<uint8_t> buf(v.bytes.total());
        GatherStrided(t.bytes(), v.bytes, buf.data());
        whole.insert(whole.end(), buf.begin(), buf.end());
        continue;
      }
      // A gate or up part: scatter it back to where it came from.
      std::vector<uint8_t> buf(v.bytes.total());
      GatherStrided(t.bytes(), v.bytes, buf.data());
      for (uint64_t r = 0; r < v.bytes.rows; ++r) {
        std::copy_n(buf.data() + r * v.bytes.row_bytes, v.bytes.row_bytes,
                    from_parts.data() + v.bytes.offset + r * v.bytes.row_stride);
      }
      // Logical shape [H, I] of a bf16 part.
      EXPECT_EQ(v.shape, (std::vector<uint64_t>{static_cast<uint64_t>(c.hidden_size),
                                                static_cast<uint64_t>(c.moe_intermediate_size)}));
    }
    auto original = t.bytes();
    ASSERT_EQ(whole.size(), original.size()) << t.name;
    EXPECT_TRUE(std::equal(whole.begin(), whole.end(), original.begin())) << t.name;
    if (role->projection == ExpertProjection::kGateUp) {
      EXPECT_TRUE(std::equal(from_parts.begin(), from_parts.end(), original.begin())) << t.name;
    }
  }
  EXPECT_EQ(packed, 8);
}

// The first element of expert e's gate part is element [e, 0, 0] and its up part starts at
// [e, 0, I] of the packed [E, H, 2I] tensor.
TEST(PackedExperts, Llama4GateAndUpOffsets) {
  auto ckpt = OpenFixture("llama4");
  ASSERT_NE(ckpt, nullptr);
  const ModelConfig& c = ckpt->config();
  const CheckpointTensor* t = ckpt->Find("model.layers.0.feed_forward.experts.gate_up_proj");
  ASSERT_NE(t, nullptr);
  auto role = ClassifyTensor(t->name, c);
  ASSERT_TRUE(role.ok());
  auto views = PackedExpertViews(*t, *role, c);
  ASSERT_TRUE(views.ok());
  const uint64_t H = c.hidden_size, I = c.moe_intermediate_size, elem = 2;
  for (const ExpertView& v : *views) {
    const uint64_t base = v.expert * H * 2 * I * elem;
    if (v.projection == ExpertProjection::kGate) {
      EXPECT_EQ(v.bytes.offset, base);
    }
    if (v.projection == ExpertProjection::kUp) {
      EXPECT_EQ(v.bytes.offset, base + I * elem);
    }
    if (v.projection != ExpertProjection::kGateUp) {
      EXPECT_EQ(v.bytes.row_stride, 2 * I * elem);
      EXPECT_EQ(v.bytes.rows, H);
    }
  }
}

TEST(Taxonomy, UnknownNamesAreErrorsNamingTheTensor) {
  auto ckpt = OpenFixture("qwen3_moe");
  ASSERT_NE(ckpt, nullptr);
  for (const char* name :
       {"model.layers.0.mlp.mystery.weight", "model.layers.0.foo", "transformer.h.0.attn.weight",
        "model.layers.00.input_layernorm.weight", "model.layers.0.mlp.experts.x.up_proj.weight"}) {
    auto r = ClassifyTensor(name, ckpt->config());
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_NE(r.status().message().find(name), std::string::npos) << r.status().message();
  }
  auto r = ClassifyTensor("model.layers.0.mlp.experts.8.up_proj.weight", ckpt->config());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("expert 8"), std::string::npos);
  r = ClassifyTensor("model.layers.2.input_layernorm.weight", ckpt->config());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("layer 2"), std::string::npos);
}

TEST(Taxonomy, DenseMlpInMoeLayerIsRefused) {
  auto ckpt = OpenFixture("deepseek_v3");
  ASSERT_NE(ckpt, nullptr);
  EXPECT_TRUE(ClassifyTensor("model.layers.0.mlp.up_proj.weight", ckpt->config()).ok());
  auto r = ClassifyTensor("model.layers.1.mlp.up_proj.weight", ckpt->config());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("MoE layer"), std::string::npos);
  r = ClassifyTensor("model.layers.0.mlp.experts.0.up_proj.weight", ckpt->config());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("dense layer"), std::string::npos);
}

TEST(Taxonomy, FusedV5AndGptOssAndFp8ScaleNames) {
  auto ckpt = OpenFixture("qwen3_moe");
  ASSERT_NE(ckpt, nullptr);
  const ModelConfig& c = ckpt->config();
  auto r = ClassifyTensor("model.layers.1.mlp.experts.gate_up_proj", c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cls, TensorClass::kRoutedExpertsPacked);
  EXPECT_EQ(r->projection, ExpertProjection::kGateUp);
  r = ClassifyTensor("model.layers.1.mlp.experts.3.down_proj.weight_scale_inv", c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cls, TensorClass::kRoutedExpert);
  EXPECT_EQ(r->part, TensorPart::kScale);
  EXPECT_EQ(r->expert, 3);
  r = ClassifyTensor("model.layers.1.mlp.experts.down_proj_blocks", c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->part, TensorPart::kBlocks);
  r = ClassifyTensor("lm_head.weight_scale_inv", c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cls, TensorClass::kLmHead);
}

}  // namespace
}  // namespace moedist
