// Recipes: parsing (unknown classes, types and fields are errors naming them), rule order
// (overrides first match, then class, then default), and what can be stored (1-D tensors never
// block-quantized, rows that do not fit a block fall back along the documented chain).
#include "pipeline/pack_recipe.h"

#include <gtest/gtest.h>

namespace moedist {
namespace {

PackRecipe Parse(const std::string& text) {
  auto r = ParseRecipe(text, "recipe.json");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : PackRecipe{};
}

TEST(PackRecipe, ParsesTheDocumentedExample) {
  const PackRecipe r = Parse(R"({"default": "bf16", "classes": {"embedding": "q8_0",
      "attention": "q8_0", "router_weight": "f32", "router_bias": "f32", "norm": "f32",
      "shared_expert": "q8_0", "routed_expert": "q4_k", "overlay": "q6_k", "lm_head": "q8_0"},
      "overrides": [{"pattern": "model.layers.0.*", "type": "q8_0"}]})");
  EXPECT_EQ(r.default_type.Name(), "bf16");
  EXPECT_EQ(r.classes.at("routed_expert").Name(), "q4_k");
  ASSERT_EQ(r.overrides.size(), 1u);
  EXPECT_EQ(r.overrides[0].type.Name(), "q8_0");
}

TEST(PackRecipe, ErrorsNameWhatIsWrong) {
  struct Case {
    const char* text;
    const char* expected;
  } cases[] = {
      {R"({"classes": {"embeddings": "q8_0"}})", "unknown tensor class \"embeddings\""},
      {R"({"classes": {"embedding": "q3_k_m"}})", "unknown type \"q3_k_m\""},  // a file mix
      {R"({"default": "q5"})", "unknown type \"q5\""},
      {R"({"defaults": "q8_0"})", "unknown field \"defaults\""},
      {R"({"overrides": [{"pattern": "x"}]})", "overrides[0]"},
      {R"({"overrides": [{"pattern": "x", "type": "fp8"}]})", "unknown type \"fp8\""},
      {R"({"default": "q8_0", "default": "f16"})", "duplicate"},
      {R"([])", "JSON object"},
  };
  for (const Case& c : cases) {
    auto r = ParseRecipe(c.text, "recipe.json");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos)
        << c.text << " -> " << r.status().ToString();
    EXPECT_NE(r.status().message().find("recipe.json"), std::string::npos);
  }
}

TEST(PackRecipe, GlobMatches) {
  EXPECT_TRUE(GlobMatch("model.layers.0.*", "model.layers.0.mlp.gate.weight"));
  EXPECT_FALSE(GlobMatch("model.layers.0.*", "model.layers.10.mlp.gate.weight"));
  EXPECT_TRUE(GlobMatch("*.experts.?.up_proj.weight", "m.experts.7.up_proj.weight"));
  EXPECT_FALSE(GlobMatch("*.experts.?.up_proj.weight", "m.experts.17.up_proj.weight"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "axxbyy"));
}

TensorFacts Facts(std::string_view name, TensorClass cls, std::vector<uint64_t> shape,
                  bool overlay = false, DType dtype = DType::kBF16) {
  return {name, cls, overlay, dtype, std::move(shape), true};
}

TEST(PackRecipe, RuleOrderOverrideThenClassThenDefault) {
  const PackRecipe r = Parse(R"({"default": "f16", "classes": {"attention": "q8_0",
      "routed_expert": "q4_k"}, "overrides": [{"pattern": "*.layers.0.*", "type": "q6_k"},
      {"pattern": "*", "type": "f32"}]})");
  auto a = ResolveTensorType(
      r, Facts("model.layers.0.self_attn.q_proj.weight", TensorClass::kAttention, {256, 256}));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->stored.Name(), "q6_k");
  EXPECT_EQ(a->rule, "overrides[0] \"*.layers.0.*\"");
  auto b = ResolveTensorType(
      r, Facts("model.layers.1.self_attn.q_proj.weight", TensorClass::kAttention, {256, 256}));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->stored.Name(), "f32");  // the catch-all override wins over the class
  const PackRecipe c = Parse(R"({"default": "f16", "classes": {"routed_expert": "q4_k"}})");
  auto overlay = ResolveTensorType(c, Facts("model.layers.1.mlp.experts.3.up_proj.weight",
                                            TensorClass::kRoutedExpert, {256, 512}, true));
  ASSERT_TRUE(overlay.ok());
  EXPECT_EQ(overlay->stored.Name(), "q4_k");  // no "overlay" class: routed_expert applies
  EXPECT_EQ(overlay->rule, "classes.routed_expert");
  auto lm = ResolveTensorType(c, Facts("lm_head.weight", TensorClass::kLmHead, {256, 512}));
  ASSERT_TRUE(lm.ok());
  EXPECT_EQ(lm->stored.Name(), "f16");
  EXPECT_EQ(lm->rule, "default");
}

// The low-bit k-quants by class: each stored as asked where rows are whole super-blocks, each
// falling back along its own chain (q2_k / q3_k to q4_0, q5_k to q8_0) where they are not.
TEST(PackRecipe, LowBitKQuantsResolveByClassAndFallBack) {
  const PackRecipe r = Parse(R"({"default": "q8_0", "classes": {"routed_expert": "q2_k",
      "shared_expert": "q3_k", "overlay": "q5_k"}})");
  struct Case {
    TensorClass cls;
    bool overlay;
    uint64_t row;
    const char* requested;
    const char* stored;
  } cases[] = {
      {TensorClass::kRoutedExpert, false, 512, "q2_k", "q2_k"},
      {TensorClass::kRoutedExpert, false, 128, "q2_k", "q4_0"},
      {TensorClass::kSharedExpert, false, 256, "q3_k", "q3_k"},
      {TensorClass::kSharedExpert, false, 96, "q3_k", "q4_0"},
      {TensorClass::kRoutedExpert, true, 768, "q5_k", "q5_k"},
      {TensorClass::kRoutedExpert, true, 128, "q5_k", "q8_0"},
  };
  for (const Case& c : cases) {
    auto t = ResolveTensorType(r, Facts("model.layers.1.mlp.w", c.cls, {64, c.row}, c.overlay));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->requested.Name(), c.requested) << c.row;
    EXPECT_EQ(t->stored.Name(), c.stored) << c.requested << " row " << c.row;
    EXPECT_EQ(t->note.empty(), std::string(c.stored) == c.requested) << t->note;
  }
}

TEST(PackRecipe, OneDimensionalTensorsAreNeverBlockQuantized) {
  const PackRecipe r = Parse(R"({"default": "q4_k", "classes": {"router_bias": "bf16"}})");
  auto norm = ResolveTensorType(r, Facts("model.norm.weight", TensorClass::kNorm, {4096}));
  ASSERT_TRUE(norm.ok());
  EXPECT_EQ(norm->requested.Name(), "q4_k");
  EXPECT_EQ(norm->stored.Name(), "f32");
  EXPECT_NE(norm->note.find("1-D"), std::string::npos);
  auto bias = ResolveTensorType(
      r, Facts("x.gate.e_score_correction_bias", TensorClass::kRouterBias, {256}));
  ASSERT_TRUE(bias.ok());
  EXPECT_EQ(bias->stored.Name(), "bf16");  // not a block type: stored as asked
  EXPECT_TRUE(bias->note.empty());
}

TEST(PackRecipe, RowsThatDoNotFitTheBlockFallBack) {
  struct Case {
    const char* type;
    uint64_t row;
    DType src;
    const char* stored;
  } cases[] = {
      {"q4_k", 512, DType::kBF16, "q4_k"}, {"q4_k", 96, DType::kBF16, "q4_0"},
      {"q4_k", 48, DType::kBF16, "bf16"},  {"q4_k", 48, DType::kF32, "f16"},
      {"q6_k", 64, DType::kF32, "q8_0"},   {"q6_k", 100, DType::kF32, "f16"},
      {"q8_0", 64, DType::kF32, "q8_0"},   {"q4_0", 33, DType::kF16, "f16"},
      {"q5_k", 768, DType::kF32, "q5_k"},  {"q5_k", 96, DType::kBF16, "q8_0"},
      {"q5_k", 80, DType::kBF16, "bf16"},  {"q3_k", 256, DType::kF32, "q3_k"},
      {"q3_k", 160, DType::kF32, "q4_0"},  {"q3_k", 100, DType::kF16, "f16"},
      {"q2_k", 1024, DType::kF16, "q2_k"}, {"q2_k", 64, DType::kF16, "q4_0"},
      {"Q2_K", 48, DType::kBF16, "bf16"},  {"f16", 7, DType::kF32, "f16"},
      {"keep", 7, DType::kF32, "keep"},
  };
  for (const Case& c : cases) {
    const PackRecipe r = Parse(fmt::format(R"({{"default": "{}"}})", c.type));
    auto t = ResolveTensorType(r, Facts("w", TensorClass::kAttention, {4, c.row}, false, c.src));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->stored.Name(), c.stored) << c.type << " row " << c.row;
    EXPECT_EQ(t->note.empty(), std::string(c.stored) == c.type) << t->note;
  }
}

TEST(PackRecipe, NonFloatTensorsOnlyKeep) {
  const PackRecipe r = Parse(R"({"default": "q8_0"})");
  TensorFacts f = Facts("experts.gate_up_proj_blocks", TensorClass::kRoutedExpertsPacked,
                        {32, 64, 16}, false, DType::kU8);
  f.is_float = false;
  auto t = ResolveTensorType(r, f);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("experts.gate_up_proj_blocks"), std::string::npos);
  EXPECT_TRUE(ResolveTensorType(KeepRecipe(), f).ok());
}

}  // namespace
}  // namespace moedist
