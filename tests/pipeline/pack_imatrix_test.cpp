// pack --imatrix: a profile's importance matrix changes what a quantized recipe stores (each
// tensor byte-identical to QuantizeRowsWeighted with llama-quantize's weights for it: in_sum2 /
// count of its matrix, per expert for routed experts), changes nothing under keep, does not
// depend on -j, is recorded in distribution.json, and is refused when it does not fit the
// checkpoint, naming the tensor.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "formats/hf_checkpoint.h"
#include "formats/imatrix_gguf.h"
#include "formats/safetensors_reader.h"
#include "manifest/file_digest.h"
#include "pack_fixture_testutil.h"
#include "pipeline/gate_profiler.h"
#include "pipeline/pack_convert.h"
#include "pipeline/release_build_spec.h"
#include "quant/quantize.h"

namespace moedist::pack_testing {
namespace {

const char* kQ4kRecipe = R"({"default": "bf16", "classes": {"embedding": "q8_0",
    "attention": "q4_k", "router_weight": "f32", "router_bias": "f32", "norm": "f32",
    "shared_expert": "q4_k", "routed_expert": "q4_k", "overlay": "q2_k", "lm_head": "q6_k"}})";

// A synthetic Qwen3-MoE (rows of 256: every block type applies) and its imatrix from profile.
struct Fixture {
  TempDir tmp;
  std::string ckpt = tmp.Sub("ckpt");
  std::string imatrix = tmp.Sub("imatrix.gguf");
  ExpertPlan plan;
  Imatrix recorded;

  Fixture() {
    EXPECT_TRUE(WriteSyntheticQwen3(ckpt, {}).ok());
    auto config = LoadModelConfig(ckpt);
    EXPECT_TRUE(config.ok());
    plan = TwoGroupPlan(*config);
    const std::string suite = tmp.Sub("suite.jsonl");
    {
      std::ofstream out(suite);
      uint32_t x = 12345;
      for (int p = 0; p < 6; ++p) {
        std::vector<int> ids;
        for (int t = 0; t < 24; ++t) {
          x = x * 1664525u + 1013904223u;
          ids.push_back(static_cast<int>((x >> 8) % 512));
        }
        out << nlohmann::json({{"id", "p" + std::to_string(p)}, {"domain", "d"}, {"ids", ids}})
                   .dump()
            << "\n";
      }
    }
    ProfileOptions o;
    o.checkpoint = ckpt;
    o.suite = suite;
    o.imatrix = &recorded;
    auto profile = RunGateProfile(o);
    EXPECT_TRUE(profile.ok()) << profile.status().ToString();
    EXPECT_TRUE(WriteImatrixFile(imatrix, recorded).ok());
  }

  Result<PackReport> Pack(const std::string& out, const char* recipe, bool with_imatrix,
                          int threads = 1) {
    PackRequest req = MakeRequest(ckpt, plan, tmp.Sub(out));
    auto r = ParseRecipe(recipe, "recipe");
    if (!r.ok()) return r.status();
    req.recipe = *r;
    req.threads = threads;
    if (with_imatrix) req.imatrix_path = imatrix;
    return PackRelease(req);
  }
};

// Relative path -> bytes of every bundle file but distribution.json.
std::map<std::string, std::string> Contents(const std::string& dist) {
  std::map<std::string, std::string> out;
  for (const std::string& rel : ListFiles(dist)) {
    if (rel != "distribution.json") out[rel] = ReadAll(dist + "/" + rel);
  }
  return out;
}

// The stored bytes of `name` in the bundle shards under dist/bundle.
std::vector<uint8_t> StoredBytes(const std::string& dist, const std::string& bundle,
                                 const std::string& name) {
  for (const std::string& rel : ListFiles(dist)) {
    if (!rel.starts_with(bundle + "/") || !rel.ends_with(".safetensors")) continue;
    auto f = SafetensorsFile::Open(dist + "/" + rel);
    EXPECT_TRUE(f.ok());
    if (const SafetensorsTensor* t = (*f)->Find(name)) {
      auto b = (*f)->TensorBytes(*t);
      return {b.begin(), b.end()};
    }
  }
  ADD_FAILURE() << name << " not in " << bundle;
  return {};
}

// What llama-quantize would store for `name` with matrix `matrix` of imatrix entry `entry`.
std::vector<uint8_t> Expected(const std::string& ckpt_dir, const std::string& name,
                              const ImatrixEntry& entry, uint64_t matrix, QuantType type) {
  auto ckpt = Checkpoint::Open(ckpt_dir);
  EXPECT_TRUE(ckpt.ok());
  const CheckpointTensor* t = (*ckpt)->Find(name);
  EXPECT_NE(t, nullptr) << name;
  const uint64_t rows = TensorRows(*t), len = TensorRowLength(*t);
  std::vector<float> values(rows * len);
  EXPECT_TRUE(DecodeRowsToF32(ConvertInput{t}, 0, rows, values.data()).ok());
  std::vector<float> importance(len);
  for (uint64_t i = 0; i < len; ++i) {
    importance[i] = entry.in_sum2[matrix * len + i] / entry.counts[matrix];
  }
  EXPECT_GT(entry.counts[matrix], 0.0f) << name;
  std::vector<uint8_t> out(*QuantTensorBytes(type, rows, len));
  EXPECT_TRUE(QuantizeRowsWeighted(type, values, len, importance, out).ok());
  return out;
}

TEST(PackImatrix, QuantizedRecipeUsesLlamaQuantizeWeights) {
  Fixture f;
  auto plain = f.Pack("plain", kQ4kRecipe, false);
  auto weighted = f.Pack("weighted", kQ4kRecipe, true);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_TRUE(weighted.ok()) << weighted.status().ToString();
  EXPECT_NE(Contents(f.tmp.Sub("plain")), Contents(f.tmp.Sub("weighted")));
  // q/k/v/o and routed experts of both layers, routers (f32: not counted), no embedding.
  EXPECT_GT(weighted->imatrix_weighted, 8u);

  // A trunk tensor: its plain entry.
  const std::string q = "model.layers.1.self_attn.q_proj.weight";
  const auto& qe = f.recorded.entries.at("blk.1.attn_q.weight");
  EXPECT_EQ(StoredBytes(f.tmp.Sub("weighted"), "trunk", q),
            Expected(f.ckpt, q, qe, 0, QuantType::kQ4_K));
  EXPECT_NE(StoredBytes(f.tmp.Sub("plain"), "trunk", q),
            Expected(f.ckpt, q, qe, 0, QuantType::kQ4_K));
  // A routed expert in group 0: matrix `expert` of the merged entry, down sees the expert's
  // intermediate width.
  const int expert = f.plan.layers.at(0).groups.at(0).at(0);
  const std::string down = fmt::format("model.layers.0.mlp.experts.{}.down_proj.weight", expert);
  const auto& de = f.recorded.entries.at("blk.0.ffn_down_exps.weight");
  EXPECT_EQ(StoredBytes(f.tmp.Sub("weighted"), "group-0", down),
            Expected(f.ckpt, down, de, static_cast<uint64_t>(expert), QuantType::kQ4_K));

  // distribution.json names the importance matrix by digest.
  auto text = ReadSmallFile(f.tmp.Sub("weighted") + "/distribution.json", 1 << 24);
  ASSERT_TRUE(text.ok());
  auto dist = ParseJsonStrict(*text, "distribution.json");
  ASSERT_TRUE(dist.ok());
  auto bytes = ReadSmallFile(f.imatrix, 1 << 24);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ((*dist)["recipe"]["imatrix"]["sha256"], *Sha256Hex(*bytes));
  EXPECT_EQ((*dist)["recipe"]["imatrix"]["tensors_weighted"], weighted->imatrix_weighted);
  EXPECT_EQ(weighted->imatrix_sha256, *Sha256Hex(*bytes));
  auto plain_text = ReadSmallFile(f.tmp.Sub("plain") + "/distribution.json", 1 << 24);
  ASSERT_TRUE(plain_text.ok());
  EXPECT_FALSE((*ParseJsonStrict(*plain_text, "d"))["recipe"].contains("imatrix"));
}

TEST(PackImatrix, KeepRecipeIsUnchanged) {
  Fixture f;
  const char* keep = R"({"default": "keep"})";
  auto plain = f.Pack("plain", keep, false);
  auto weighted = f.Pack("weighted", keep, true);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_TRUE(weighted.ok()) << weighted.status().ToString();
  EXPECT_EQ(weighted->imatrix_weighted, 0u);
  EXPECT_EQ(Contents(f.tmp.Sub("plain")), Contents(f.tmp.Sub("weighted")));
}

TEST(PackImatrix, BytesDoNotDependOnThreads) {
  Fixture f;
  auto one = f.Pack("j1", kQ4kRecipe, true, 1);
  auto two = f.Pack("j3", kQ4kRecipe, true, 3);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(Contents(f.tmp.Sub("j1")), Contents(f.tmp.Sub("j3")));
  EXPECT_EQ(ReadAll(f.tmp.Sub("j1") + "/distribution.json"),
            ReadAll(f.tmp.Sub("j3") + "/distribution.json"));
}

TEST(PackImatrix, RefusesEntriesThatDoNotFitNamingTheTensor) {
  Fixture f;
  struct Case {
    std::string what;
    std::function<void(Imatrix&)> edit;
    std::vector<std::string> expect;
  };
  const std::vector<Case> cases = {
      {"narrower q_proj",
       [](Imatrix& m) {
         ImatrixEntry& e = m.entries.at("blk.0.attn_q.weight");
         e.in_features = 128;
         e.in_sum2.resize(128);
       },
       {"blk.0.attn_q.weight.in_sum2", "[128 × 1]", "model.layers.0.self_attn.q_proj.weight",
        "[256 × 1]"}},
      {"experts as one matrix",
       [](Imatrix& m) {
         ImatrixEntry& e = m.entries.at("blk.1.ffn_up_exps.weight");
         e.in_sum2.resize(e.in_features);
         e.counts.resize(1);
       },
       {"blk.1.ffn_up_exps.weight.in_sum2", "[256 × 1]", "[256 × 8]"}},
      {"a layer the model lacks",
       [](Imatrix& m) { m.entries["blk.7.attn_q.weight"] = m.entries.at("blk.0.attn_q.weight"); },
       {"entry \"blk.7.attn_q.weight\" names no weight"}},
  };
  for (const Case& c : cases) {
    Imatrix m = f.recorded;
    c.edit(m);
    ASSERT_TRUE(WriteImatrixFile(f.imatrix, m).ok()) << c.what;
    auto r = f.Pack("bad", kQ4kRecipe, true);
    ASSERT_FALSE(r.ok()) << c.what;
    for (const std::string& s : c.expect) {
      EXPECT_NE(r.status().ToString().find(s), std::string::npos)
          << c.what << ": " << r.status().ToString();
    }
    EXPECT_FALSE(std::filesystem::exists(f.tmp.Sub("bad") + "/distribution.json")) << c.what;
  }
}

// release.json's pack.imatrix: a path resolved against release.json's directory, refused when
// it is not a string.
TEST(PackImatrix, ReleaseSpecField) {
  nlohmann::json spec = {{"schema_version", 1},
                         {"checkpoint", "c"},
                         {"calibration", "s"},
                         {"plan", {{"groups", 2}}},
                         {"pack", {{"imatrix", "imatrix.gguf"}}},
                         {"release", {{"created", "2026-01-01T00:00:00Z"}}},
                         {"output", "o"}};
  auto r = ParseReleaseSpec(spec.dump(), "r.json", "/base");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->pack.imatrix, "/base/imatrix.gguf");
  spec["pack"]["imatrix"] = 3;
  r = ParseReleaseSpec(spec.dump(), "r.json", "/base");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("imatrix"), std::string::npos) << r.status().ToString();
}

}  // namespace
}  // namespace moedist::pack_testing
