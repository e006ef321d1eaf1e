#include "pipeline/gguf_expert_bytes.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <numeric>
#include <regex>

#include "formats/gguf_writer.h"
#include "pipeline/hotness_tiers.h"
#include "pipeline/llama_offload_rules.h"
#include "planted_profile_testutil.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

constexpr int kExperts = 8;

// A GGUF whose layer 0 experts are f32 and layer 1 experts q8_0 (about 3.8× smaller), beside an
// attention matrix and a router that are not experts.
std::shared_ptr<const GgufFile> WriteModel(const fs::path& path, uint64_t experts_in_tensor) {
  static std::vector<uint8_t> zeros(1 << 16, 0);
  std::vector<GgufTensorSource> tensors;
  auto add = [&](std::string name, GgmlType type, std::vector<uint64_t> ne, uint64_t bytes) {
    tensors.push_back(
        GgufSourceFromBytes(std::move(name), type, std::move(ne), std::span(zeros.data(), bytes)));
  };
  for (const char* proj : {"gate", "up", "down"}) {
    add(fmt::format("blk.0.ffn_{}_exps.weight", proj), GgmlType::kF32, {32, 2, experts_in_tensor},
        32 * 2 * experts_in_tensor * 4);
    add(fmt::format("blk.1.ffn_{}_exps.weight", proj), GgmlType::kQ8_0, {32, 2, experts_in_tensor},
        34 * 2 * experts_in_tensor);
  }
  add("blk.0.attn_q.weight", GgmlType::kF32, {32, 32}, 32 * 32 * 4);
  add("blk.1.ffn_gate_inp.weight", GgmlType::kF32, {32, experts_in_tensor},
      32 * experts_in_tensor * 4);
  EXPECT_TRUE(WriteGgufFile(path.string(), {}, std::move(tensors)).ok());
  auto file = GgufFile::Open(path.string());
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  return file.ok() ? *file : nullptr;
}

class GgufExpertBytesTest : public ::testing::Test {
 protected:
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_ = fs::temp_directory_path() / ("moedist-gguf-bytes-" + std::to_string(::getpid()));
  void SetUp() override { fs::create_directories(dir_); }
};

TEST_F(GgufExpertBytesTest, LayersAddUpToTheirExpertTensorsAndPriceTheRules) {
  auto gguf = WriteModel(dir_ / "m.gguf", kExperts);
  ASSERT_TRUE(gguf);
  auto bytes = GgufExpertBytes(*gguf, kExperts);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  ASSERT_EQ(bytes->size(), 2u);
  for (int layer : {0, 1}) {
    uint64_t want = 0;
    for (const GgufTensorInfo& t : gguf->tensors()) {
      if (t.name.starts_with(fmt::format("blk.{}.ffn_", layer)) &&
          t.name.find("_exps.") != std::string::npos) {
        want += t.num_bytes;
      }
    }
    const auto& v = bytes->at(layer);
    ASSERT_EQ(v.size(), static_cast<size_t>(kExperts));
    EXPECT_EQ(std::accumulate(v.begin(), v.end(), uint64_t{0}), want) << "layer " << layer;
  }
  // Priced in the GGUF's bytes, the cheaper q8_0 layer is offloaded first.
  testing_util::PlantedSpec spec;
  spec.experts = kExperts;
  spec.top_k = 2;
  spec.domains = 2;
  const GateProfile p = testing_util::MakePlantedProfile(spec);
  TierOptions o;
  o.expert_bytes = *bytes;
  o.bytes_source = "gguf";
  auto tiers = ComputeHotnessTiers(p, o);
  ASSERT_TRUE(tiers.ok()) << tiers.status().ToString();
  const uint64_t layer1 = std::accumulate(bytes->at(1).begin(), bytes->at(1).end(), uint64_t{0});
  auto plan = PlanLlamaOffload(*tiers, p, layer1, "CUDA0");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->ranked[0].layer, 1);
  EXPECT_EQ(plan->bytes, layer1);
  EXPECT_NE(plan->args[1].find(R"(blk\.(1)\.)"), std::string::npos) << plan->args[1];
  // The rules as llama.cpp applies them (std::regex_search over the tensor name, first match
  // wins): layer 1's expert tensors on the GPU, layer 0's in RAM, nothing else overridden.
  ASSERT_EQ(plan->args.size(), 4u);
  for (const GgufTensorInfo& t : gguf->tensors()) {
    std::string placed = "default";
    for (size_t i = 1; i < plan->args.size(); i += 2) {
      const std::string& rule = plan->args[i];
      const size_t eq = rule.rfind('=');
      if (std::regex_search(t.name, std::regex(rule.substr(0, eq)))) {
        placed = rule.substr(eq + 1);
        break;
      }
    }
    const bool expert = t.name.find("_exps.") != std::string::npos;
    const std::string want = !expert ? "default" : t.name.starts_with("blk.1.") ? "CUDA0" : "CPU";
    EXPECT_EQ(placed, want) << t.name;
  }
}

TEST_F(GgufExpertBytesTest, RefusesAnotherExpertCountNamingTheTensor) {
  auto gguf = WriteModel(dir_ / "m.gguf", kExperts);
  ASSERT_TRUE(gguf);
  auto bytes = GgufExpertBytes(*gguf, kExperts * 2);
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.status().ToString().find("blk.0.ffn_gate_exps.weight"), std::string::npos)
      << bytes.status().ToString();
}

}  // namespace
}  // namespace moedist
