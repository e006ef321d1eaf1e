// The layer-major pass (layer_stream.h) computes exactly what Forward() computes prompt by
// prompt: for every family, every MoE layer's router logits, probabilities, choices and
// weights are bit-identical, whether or not each layer's pages are released after use.
#include "runtime-min/layer_stream.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <tuple>

#include "hf_fixture_testutil.h"
#include "runtime-min/forward.h"

namespace moedist::testing {
namespace {

// Every observation's arrays, keyed by (layer, prompt), as raw bytes.
class BitRecorder : public RoutingObserver {
 public:
  void OnRouting(const RoutingBatch& b) override {
    std::string& out = seen[{b.layer, prompt}];
    const size_t n = b.num_tokens, e = b.num_experts, k = b.top_k;
    out.append(reinterpret_cast<const char*>(b.router_logits), n * e * sizeof(float));
    out.append(reinterpret_cast<const char*>(b.probs), n * e * sizeof(float));
    out.append(reinterpret_cast<const char*>(b.experts), n * k * sizeof(int32_t));
    out.append(reinterpret_cast<const char*>(b.weights), n * k * sizeof(float));
    positions[{b.layer, prompt}].push_back(b.first_position);
  }
  size_t prompt = 0;
  std::map<std::pair<int, size_t>, std::string> seen;
  std::map<std::pair<int, size_t>, std::vector<int>> positions;
};

// The fixture's reference rows plus random prompts of lengths on both sides of the sgemm
// threshold (matmul.h), so both matmul paths and multi-token expert batches run.
std::vector<std::vector<int32_t>> Prompts(const Model& m, const std::string& family) {
  std::vector<std::vector<int32_t>> prompts = LoadReference(family).InputIds();
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> id(0, m.config().vocab_size - 1);
  for (int len : {1, 5, 19}) {
    std::vector<int32_t> p(len);
    for (int32_t& t : p) t = id(rng);
    prompts.push_back(p);
  }
  return prompts;
}

class LayerStreamTest : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(HfTiny, LayerStreamTest,
                         ::testing::Values("qwen3_moe", "qwen2_moe", "mixtral", "olmoe",
                                           "deepseek_v3", "llama4"),
                         [](const auto& info) { return info.param; });

TEST_P(LayerStreamTest, RoutingIsBitIdenticalToPromptByPrompt) {
  auto model = Model::Open(FixtureDir(GetParam()));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const Model& m = **model;
  const auto prompts = Prompts(m, GetParam());

  BitRecorder by_prompt;
  ForwardOptions fo;
  fo.observer = &by_prompt;
  for (size_t p = 0; p < prompts.size(); ++p) {
    Sequence seq(m);
    by_prompt.prompt = p;
    ASSERT_TRUE(Forward(m, seq, prompts[p], fo, nullptr).ok());
  }

  auto pages = WeightPages::Build(m.checkpoint());
  ASSERT_TRUE(pages.ok()) << pages.status().ToString();
  for (bool release : {false, true}) {
    BitRecorder by_layer;
    std::vector<std::pair<int, size_t>> order;
    std::vector<int> done;
    LayerStreamOptions lo;
    lo.observer = &by_layer;
    lo.release = release ? &*pages : nullptr;
    lo.on_prompt = [&](int layer, size_t prompt) {
      by_layer.prompt = prompt;
      order.emplace_back(layer, prompt);
    };
    lo.on_layer_done = [&](int layer) {
      done.push_back(layer);
      return Status::Ok();
    };
    Status st = ForwardLayerMajor(m, prompts, lo);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_FALSE(by_prompt.seen.empty());
    EXPECT_EQ(by_layer.positions, by_prompt.positions);
    ASSERT_EQ(by_layer.seen.size(), by_prompt.seen.size());
    for (const auto& [key, bytes] : by_prompt.seen) {
      EXPECT_TRUE(by_layer.seen[key] == bytes)
          << "layer " << key.first << " prompt " << key.second << " release " << release;
    }
    // Layer by layer, prompts in order within each layer.
    const int layers = m.config().num_layers;
    ASSERT_EQ(order.size(), prompts.size() * layers);
    for (size_t i = 0; i < order.size(); ++i) {
      EXPECT_EQ(order[i], std::make_pair(static_cast<int>(i / prompts.size()), i % prompts.size()));
    }
    ASSERT_EQ(done.size(), static_cast<size_t>(layers));
    for (int l = 0; l < layers; ++l) EXPECT_EQ(done[l], l);
  }
}

TEST_P(LayerStreamTest, StopsAfterTheLastLayerAsked) {
  auto model = Model::Open(FixtureDir(GetParam()));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const auto moe = (*model)->config().MoeLayers();
  ASSERT_FALSE(moe.empty());
  BitRecorder rec;
  LayerStreamOptions lo;
  lo.observer = &rec;
  lo.last_layer = moe.front();
  ASSERT_TRUE(ForwardLayerMajor(**model, Prompts(**model, GetParam()), lo).ok());
  ASSERT_FALSE(rec.seen.empty());
  for (const auto& [key, bytes] : rec.seen) EXPECT_LE(key.first, moe.front());
}

TEST(LayerStream, BadPromptsAreRefusedNamingThePrompt) {
  auto model = Model::Open(FixtureDir("qwen3_moe"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const int vocab = (*model)->config().vocab_size;
  std::vector<std::vector<int32_t>> prompts = {{1, 2}, {3, vocab}};
  Status st = ForwardLayerMajor(**model, prompts, LayerStreamOptions{});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("prompt 1: token id"), std::string::npos) << st.message();
  prompts = {{1}, {}};
  st = ForwardLayerMajor(**model, prompts, LayerStreamOptions{});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("prompt 1 has no tokens"), std::string::npos) << st.message();
}

TEST(LayerStream, ALayerDoneErrorStopsThePass) {
  auto model = Model::Open(FixtureDir("mixtral"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  int layers_run = 0;
  LayerStreamOptions lo;
  lo.on_layer_done = [&](int layer) {
    ++layers_run;
    return Status::FailedPrecondition("stop at {}", layer);
  };
  Status st = ForwardLayerMajor(**model, std::vector<std::vector<int32_t>>{{1, 2, 3}}, lo);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(layers_run, 1);
}

TEST(WeightPages, EveryLayerHasPagesAndTheyCoverItsTensors) {
  auto model = Model::Open(FixtureDir("deepseek_v3"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto pages = WeightPages::Build((*model)->checkpoint());
  ASSERT_TRUE(pages.ok()) << pages.status().ToString();
  const Checkpoint& ck = (*model)->checkpoint();
  ASSERT_EQ(pages->num_layers(), ck.config().num_layers);
  for (int l = 0; l < pages->num_layers(); ++l) {
    uint64_t tensor_bytes = 0;
    const std::string prefix = "model.layers." + std::to_string(l) + ".";
    for (const auto& t : ck.tensors()) {
      if (t.name.starts_with(prefix)) tensor_bytes += t.num_bytes();
    }
    EXPECT_GE(pages->LayerPageBytes(l), tensor_bytes) << "layer " << l;
    EXPECT_EQ(pages->LayerPageBytes(l) % WeightPages::PageSize(), 0u);
  }
  EXPECT_GT(pages->embedding_row_bytes(), 0u);
  EXPECT_LE(pages->EmbeddingRowsPageBytes(1), pages->EmbeddingPageBytes());
  EXPECT_EQ(pages->EmbeddingRowsPageBytes(1u << 30), pages->EmbeddingPageBytes());
}

}  // namespace
}  // namespace moedist::testing
