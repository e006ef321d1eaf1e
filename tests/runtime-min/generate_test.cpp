// Generation, sampling and degeneracy measures.
#include <gtest/gtest.h>

#include "hf_fixture_testutil.h"
#include "runtime-min/degeneracy.h"
#include "runtime-min/eval.h"
#include "runtime-min/forward.h"
#include "runtime-min/generate.h"
#include "runtime-min/sampler.h"

namespace moedist::testing {
namespace {

TEST(DegeneracyTest, DistinctAndLongestRepeat) {
  const std::vector<int32_t> loop = {1, 2, 3, 1, 2, 3, 1, 2};
  EXPECT_DOUBLE_EQ(DistinctN(loop, 1), 3.0 / 8);
  EXPECT_DOUBLE_EQ(DistinctN(loop, 2), 3.0 / 7);
  EXPECT_EQ(LongestRepeatedNgram(loop), 5);  // "1 2 3 1 2" at 0 and 3
  const std::vector<int32_t> fresh = {5, 6, 7, 8};
  EXPECT_DOUBLE_EQ(DistinctN(fresh, 2), 1.0);
  EXPECT_EQ(LongestRepeatedNgram(fresh), 0);
  EXPECT_EQ(LongestRepeatedNgram(std::vector<int32_t>{4, 4, 4}), 2);
  EXPECT_DOUBLE_EQ(DistinctN(std::vector<int32_t>{}, 3), 1.0);
}

TEST(SamplerTest, GreedyAndSeeded) {
  const float logits[4] = {0.1f, 2.0f, 1.9f, -3.0f};
  Sampler greedy({0.0f, 1.0f, 0});
  EXPECT_EQ(greedy.Sample(logits, 4), 1);
  // top_p small enough that only the best token is in the nucleus.
  Sampler nucleus({1.0f, 0.3f, 5});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(nucleus.Sample(logits, 4), 1);
  // Same seed, same stream; all draws are valid ids.
  Sampler a({1.0f, 1.0f, 42}), b({1.0f, 1.0f, 42});
  bool saw_other = false;
  for (int i = 0; i < 200; ++i) {
    const int32_t x = a.Sample(logits, 4);
    EXPECT_EQ(x, b.Sample(logits, 4));
    EXPECT_GE(x, 0);
    EXPECT_LT(x, 4);
    saw_other |= x != 1;
  }
  EXPECT_TRUE(saw_other);
}

TEST(GenerateTest, GreedyMatchesArgmaxOfFullRecompute) {
  auto model = Model::Open(FixtureDir("qwen2_moe"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::vector<int32_t> prompt = LoadReference("qwen2_moe").InputIds()[0];
  GenerateOptions go;
  go.max_new_tokens = 6;
  auto r = Generate(**model, prompt, go);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->tokens.size(), 6u);
  // Each generated token is the argmax of a from-scratch forward over everything before it.
  std::vector<int32_t> ctx = prompt;
  const int vocab = (*model)->config().vocab_size;
  for (int32_t tok : r->tokens) {
    Sequence seq(**model);
    std::vector<float> logits;
    ForwardOptions fo;
    fo.all_logits = false;
    ASSERT_TRUE(Forward(**model, seq, ctx, fo, &logits).ok());
    Sampler greedy({});
    EXPECT_EQ(tok, greedy.Sample(logits.data(), vocab));
    ctx.push_back(tok);
  }
}

TEST(GenerateTest, StopsAtStopId) {
  auto model = Model::Open(FixtureDir("olmoe"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::vector<int32_t> prompt = {3, 4, 5};
  GenerateOptions go;
  go.max_new_tokens = 5;
  auto first = Generate(**model, prompt, go);
  ASSERT_TRUE(first.ok());
  go.stop_ids = {first->tokens[1]};
  auto stopped = Generate(**model, prompt, go);
  ASSERT_TRUE(stopped.ok());
  EXPECT_TRUE(stopped->stopped);
  EXPECT_LE(stopped->tokens.size(), 2u);
  EXPECT_EQ(stopped->tokens.back(), first->tokens[1]);
}

TEST(GenerateTest, SampledIsReproducibleAndMaskIsApplied) {
  auto model = Model::Open(FixtureDir("mixtral"));
  ASSERT_TRUE(model.ok());
  auto mask = ExpertMask::Parse(R"({"allowed": [1, 3, 4, 6]})", "test", (*model)->config());
  ASSERT_TRUE(mask.ok());
  struct Watch : RoutingObserver {
    void OnRouting(const RoutingBatch& b) override {
      for (int i = 0; i < b.num_tokens * b.top_k; ++i) bad |= !(b.experts[i] == 1 || b.experts[i] == 3 || b.experts[i] == 4 || b.experts[i] == 6);
      ++calls;
    }
    bool bad = false;
    int calls = 0;
  } watch;
  GenerateOptions go;
  go.max_new_tokens = 8;
  go.sampling = {0.8f, 0.9f, 1234};
  go.mask = &*mask;
  go.observer = &watch;
  const std::vector<int32_t> prompt = {10, 20, 30};
  auto a = Generate(**model, prompt, go);
  go.observer = nullptr;
  auto b = Generate(**model, prompt, go);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->tokens, b->tokens);
  EXPECT_FALSE(watch.bad);
  EXPECT_EQ(watch.calls, 2 * 8);  // 2 MoE layers × (prefill + 7 decode steps)
}

}  // namespace
}  // namespace moedist::testing
