// Quantized bundles: every tensor pack stores in another type dequantizes (quant/) to within
// that type's error bound of the source values, in every bundle and through every node's view
// (renamed per-expert tensors, Llama-4's stacked packed experts, sliced routers). Bounds are
// relative RMSE (RMS error / RMS value) a quarter above what quant/'s own tests measure on
// Gaussian data, plus Q8_0's exact per-block bound (half a step plus the f16 rounding of the
// scale). FP8 block-scaled sources are dequantized with their weight_scale_inv first.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/json_strict.h"
#include "formats/hf_checkpoint.h"
#include "formats/tensor_taxonomy.h"
#include "pack_fixture_testutil.h"
#include "pipeline/bundle_writer.h"
#include "pipeline/node_bundle.h"
#include "pipeline/pack_convert.h"
#include "quant/decode_f32.h"
#include "quant/fp8.h"
#include "quant/half_float.h"
#include "quant/quantize.h"

namespace moedist::pack_testing {
namespace {

namespace fs = std::filesystem;

const char* kRecipe = R"({"default": "bf16", "classes": {"embedding": "q8_0",
    "attention": "q8_0", "router_weight": "f32", "router_bias": "f32", "norm": "f32",
    "shared_expert": "q8_0", "routed_expert": "q4_k", "overlay": "q6_k", "lm_head": "q8_0"}})";

double RmseBound(const std::string& type) {
  if (type == "q8_0") return 0.0060 * 1.25;
  if (type == "q6_k") return 0.0198 * 1.25;
  if (type == "q4_k") return 0.0790 * 1.25;
  if (type == "q4_0") return 0.0950 * 1.25;
  if (type == "f16") return 2.4e-4 * 1.25;
  if (type == "bf16") return 1.85e-3 * 1.25;
  return 0;  // f32 and keep: exact
}

// The stored values of tensor `t` as f32, using its moedist.quant metadata when it has one.
std::vector<float> StoredValues(const CheckpointTensor& t, std::string* type) {
  const auto& meta = t.shard->metadata();
  auto q = meta.find(std::string(kQuantMetadataPrefix) + t.info->name);
  if (q == meta.end()) {
    *type = t.dtype() == DType::kF32 ? "f32" : t.dtype() == DType::kF16 ? "f16" : "bf16";
    std::vector<float> v(t.info->num_elements());
    EXPECT_TRUE(DecodeToF32(t.dtype(), t.bytes(), v).ok());
    return v;
  }
  auto j = ParseJsonStrict(q->second, "quant metadata");
  EXPECT_TRUE(j.ok());
  *type = (*j)["type"].get<std::string>();
  uint64_t n = 1;
  for (uint64_t d : (*j)["shape"].get<std::vector<uint64_t>>()) n *= d;
  std::vector<float> v(n);
  auto qt = ParseQuantType(*type);
  EXPECT_TRUE(qt.ok());
  EXPECT_EQ(t.dtype(), DType::kU8);
  Status st = DequantizeRow(*qt, t.bytes(), v);
  EXPECT_TRUE(st.ok()) << t.name << ": " << st.ToString();
  return v;
}

// Source values of the original tensor `name` (FP8 with scales applied), optionally only the
// given axis-0 indices.
std::vector<float> SourceValues(const Checkpoint& ckpt, const std::string& name,
                                const std::vector<int>& axis0 = {}) {
  const CheckpointTensor* t = ckpt.Find(name);
  EXPECT_NE(t, nullptr) << name;
  ConvertInput in{t, ckpt.Find(name + "_scale_inv")};
  const uint64_t rows = TensorRows(*t), len = TensorRowLength(*t);
  std::vector<float> all(rows * len);
  EXPECT_TRUE(DecodeRowsToF32(in, 0, rows, all.data()).ok());
  if (axis0.empty()) return all;
  const uint64_t per = all.size() / t->shape()[0];
  std::vector<float> out;
  for (int e : axis0) out.insert(out.end(), all.begin() + e * per, all.begin() + (e + 1) * per);
  return out;
}

void ExpectWithinBound(const std::vector<float>& src, const std::vector<float>& got,
                       const std::string& type, const std::string& what) {
  ASSERT_EQ(src.size(), got.size()) << what;
  double err = 0, ref = 0;
  for (size_t i = 0; i < src.size(); ++i) {
    err += (double(src[i]) - got[i]) * (double(src[i]) - got[i]);
    ref += double(src[i]) * src[i];
  }
  const double rmse = ref > 0 ? std::sqrt(err / ref) : std::sqrt(err);
  EXPECT_LE(rmse, RmseBound(type)) << what << " stored as " << type;
  if (type == "q8_0") {
    for (size_t b = 0; b < src.size() / 32; ++b) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(src[32 * b + j]));
      const double d = amax / 127.0;
      const double bound = d / 2 + 127 * d * std::ldexp(1.0, -11) + 1e-6 * amax;
      for (int j = 0; j < 32; ++j) {
        ASSERT_LE(std::fabs(double(src[32 * b + j]) - got[32 * b + j]), bound)
            << what << " block " << b;
      }
    }
  }
}

// Checks every tensor of every bundle and every node of `dist` against the checkpoint.
// Returns how many tensors were block-quantized.
int CheckRelease(const std::string& checkpoint, const std::string& dist, const ExpertPlan& plan) {
  auto ckpt = Checkpoint::Open(checkpoint);
  EXPECT_TRUE(ckpt.ok());
  const ModelConfig& config = (*ckpt)->config();
  int quantized = 0;
  // Group and overlay bundles and the trunk: names are the source names.
  for (const std::string& rel : ListFiles(dist)) {
    if (!rel.ends_with(".safetensors") || rel.starts_with("node-")) continue;
    auto file = SafetensorsFile::Open(dist + "/" + rel);
    EXPECT_TRUE(file.ok()) << rel;
    const std::string bundle = rel.substr(0, rel.find('/'));
    for (const SafetensorsTensor& info : (*file)->tensors()) {
      CheckpointTensor t{info.name, *file, &info};
      if (info.name.ends_with("_scale_inv")) continue;  // kept FP8 scales: compared as bytes below
      std::string type;
      const std::vector<float> got = StoredValues(t, &type);
      auto role = ClassifyTensor(info.name, config);
      EXPECT_TRUE(role.ok()) << info.name;
      std::vector<int> axis0;
      if (role->cls == TensorClass::kRoutedExpertsPacked) {
        const LayerPlan& lp = plan.layers.at(role->layer);
        axis0 = bundle == "overlay" ? lp.overlay : lp.groups.at(std::stoi(bundle.substr(6)));
      }
      ExpectWithinBound(SourceValues(**ckpt, info.name, axis0), got, type, rel + ":" + info.name);
      quantized += type.starts_with("q");
    }
  }
  // Nodes: what a runtime sees, under local names.
  for (int g = 0; g < plan.num_groups; ++g) {
    const std::string dir = dist + "/node-" + std::to_string(g);
    auto node = Checkpoint::Open(dir, CheckpointOpenOptions{dist});
    EXPECT_TRUE(node.ok()) << node.status().ToString();
    auto info = ReadNodeInfo(dir);
    EXPECT_TRUE(info.ok());
    for (const CheckpointTensor& t : (*node)->tensors()) {
      if (t.name.ends_with("_scale_inv")) continue;
      auto role = ClassifyTensor(t.name, (*node)->config());
      EXPECT_TRUE(role.ok()) << t.name;
      std::string source = t.info->name;  // aliases: the name in the bundle shard
      std::vector<int> axis0;
      if (role->layer >= 0 && config.is_moe_layer[role->layer] && info->mode == NodeMode::kSlice &&
          (role->cls == TensorClass::kRouterWeight || role->cls == TensorClass::kRouterBias ||
           role->cls == TensorClass::kRoutedExpertsPacked)) {
        axis0 = info->layers.at(role->layer).held;  // sliced or stacked in local order
      }
      std::string type;
      const std::vector<float> got = StoredValues(t, &type);
      ExpectWithinBound(SourceValues(**ckpt, source, axis0), got, type, dir + ":" + t.name);
    }
  }
  return quantized;
}

TEST(PackQuant, SyntheticCheckpointEveryBlockTypeWithinBound) {
  TempDir tmp;
  const std::string ckpt = tmp.Sub("ckpt");
  ASSERT_TRUE(WriteSyntheticQwen3(ckpt, {}).ok());
  auto config = LoadModelConfig(ckpt);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const ExpertPlan plan = TwoGroupPlan(*config);
  PackRequest req = MakeRequest(ckpt, plan, tmp.Sub("dist"));
  auto recipe = ParseRecipe(kRecipe, "recipe");
  ASSERT_TRUE(recipe.ok());
  req.recipe = *recipe;
  auto report = PackRelease(req);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->stored_types["group-0"].count("q4_k"), 1u);
  EXPECT_EQ(report->stored_types["overlay"].count("q6_k"), 1u);
  EXPECT_EQ(report->stored_types["trunk"]["q8_0"], 2 + 2 * 4);  // embed, lm_head, q/k/v/o
  EXPECT_GT(CheckRelease(ckpt, tmp.Sub("dist"), plan), 0);
  // Norms asked for f32 are f32; nothing fell back on these rows.
  EXPECT_TRUE(report->fallbacks.empty());
}

TEST(PackQuant, Fp8BlockScaledExpertsAreDequantizedBeforeRequantizing) {
  TempDir tmp;
  const std::string ckpt = tmp.Sub("ckpt");
  SyntheticSpec spec;
  spec.fp8_experts = true;
  spec.moe_intermediate = 384;  // 3 scale blocks of 128 rows: the grid is exercised
  ASSERT_TRUE(WriteSyntheticQwen3(ckpt, spec).ok());
  auto config = LoadModelConfig(ckpt);
  ASSERT_TRUE(config.ok());
  const ExpertPlan plan = TwoGroupPlan(*config);
  PackRequest req = MakeRequest(ckpt, plan, tmp.Sub("q"));
  auto recipe = ParseRecipe(R"({"classes": {"routed_expert": "q8_0"}})", "recipe");
  ASSERT_TRUE(recipe.ok());
  req.recipe = *recipe;
  auto report = PackRelease(req);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  // Converted weights do not keep their scales.
  for (const auto& f : report->files) {
    if (!f.path.ends_with(".safetensors")) continue;
    auto file = SafetensorsFile::Open(tmp.Sub("q") + "/" + f.path);
    ASSERT_TRUE(file.ok());
    for (const auto& t : (*file)->tensors()) EXPECT_FALSE(t.name.ends_with("_scale_inv")) << t.name;
  }
  EXPECT_GT(CheckRelease(ckpt, tmp.Sub("q"), plan), 0);

  // keep: FP8 bytes and their scales travel together and are renamed together in the node.
  req.recipe = KeepRecipe();
  req.out_dir = tmp.Sub("keep");
  ASSERT_TRUE(PackRelease(req).ok());
  auto node = Checkpoint::Open(tmp.Sub("keep") + "/node-1", CheckpointOpenOptions{tmp.Sub("keep")});
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  auto info = ReadNodeInfo(tmp.Sub("keep") + "/node-1");
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->mode, NodeMode::kSlice);
  auto src = Checkpoint::Open(ckpt);
  ASSERT_TRUE(src.ok());
  const std::vector<int>& held = info->layers.at(0).held;
  for (size_t j = 0; j < held.size(); ++j) {
    for (const char* suffix : {".up_proj.weight", ".up_proj.weight_scale_inv"}) {
      const std::string local = "model.layers.0.mlp.experts." + std::to_string(j) + suffix;
      const std::string global = "model.layers.0.mlp.experts." + std::to_string(held[j]) + suffix;
      const CheckpointTensor* a = (*node)->Find(local);
      const CheckpointTensor* b = (*src)->Find(global);
      ASSERT_TRUE(a && b) << local;
      EXPECT_TRUE(
          std::equal(a->bytes().begin(), a->bytes().end(), b->bytes().begin(), b->bytes().end()))
          << local;
    }
  }
}

class PackQuantFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PackQuantFixtureTest, FixtureRowsFallBackAndStayWithinBound) {
  const std::string family = GetParam();
  auto config = LoadModelConfig(FixtureDir(family));
  ASSERT_TRUE(config.ok());
  const ExpertPlan plan = TwoGroupPlan(*config);
  TempDir tmp;
  PackRequest req = MakeRequest(FixtureDir(family), plan, tmp.Sub("dist"));
  // One type for routed and overlay experts, so packed (Llama-4) nodes can stack them.
  auto recipe = ParseRecipe(R"({"default": "bf16", "classes": {"embedding": "q8_0",
      "attention": "q8_0", "norm": "q8_0", "routed_expert": "q4_k", "lm_head": "q8_0",
      "shared_expert": "q8_0", "router_weight": "f32"}})",
                            "recipe");
  ASSERT_TRUE(recipe.ok());
  req.recipe = *recipe;
  auto report = PackRelease(req);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  // Fixture rows are 32-96 values: q4_k falls back to q4_0 (or further), norms to f32; all
  // recorded with the reason.
  ASSERT_FALSE(report->fallbacks.empty());
  for (const TensorDecision& d : report->fallbacks) {
    EXPECT_FALSE(d.choice.note.empty());
    if (d.recipe_class == "norm") {
      EXPECT_EQ(d.choice.stored.Name(), "f32") << d.tensor;
    }
  }
  EXPECT_GT(CheckRelease(FixtureDir(family), tmp.Sub("dist"), plan), 0);
}

INSTANTIATE_TEST_SUITE_P(Families, PackQuantFixtureTest, ::testing::ValuesIn(Families()),
                         [](const auto& info) { return info.param; });

TEST(PackQuant, PackedOverlayOfAnotherTypeIsRefusedForSliceNodes) {
  auto config = LoadModelConfig(FixtureDir("llama4"));
  ASSERT_TRUE(config.ok());
  TempDir tmp;
  PackRequest req = MakeRequest(FixtureDir("llama4"), TwoGroupPlan(*config), tmp.Sub("dist"));
  auto recipe = ParseRecipe(R"({"classes": {"routed_expert": "q8_0", "overlay": "bf16"}})", "r");
  ASSERT_TRUE(recipe.ok());
  req.recipe = *recipe;
  auto report = PackRelease(req);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("one type"), std::string::npos)
      << report.status().ToString();
  EXPECT_FALSE(fs::exists(tmp.Sub("dist"))) << "nothing may be written when planning fails";
}

}  // namespace
}  // namespace moedist::pack_testing
