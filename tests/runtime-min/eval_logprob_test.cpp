// Teacher-forced log-probability: hand-computed cases, and the evaluator's total on a fixture
// equals the sum recomputed from the reference logits.
#include <cmath>

#include <gtest/gtest.h>

#include "hf_fixture_testutil.h"
#include "runtime-min/eval.h"

namespace moedist::testing {
namespace {

TEST(TokenLogProbTest, HandComputed) {
  // logits (0, ln 2, ln 3, -inf-ish): softmax = (1, 2, 3, 0) / 6.
  const float logits[4] = {0.0f, std::log(2.0f), std::log(3.0f), -1e30f};
  EXPECT_NEAR(TokenLogProb(logits, 4, 0), std::log(1.0 / 6), 1e-6);
  EXPECT_NEAR(TokenLogProb(logits, 4, 1), std::log(2.0 / 6), 1e-6);
  EXPECT_NEAR(TokenLogProb(logits, 4, 2), std::log(3.0 / 6), 1e-6);
  // Large logits must not overflow.
  const float big[2] = {1000.0f, 1000.0f};
  EXPECT_NEAR(TokenLogProb(big, 2, 1), std::log(0.5), 1e-9);
}

TEST(ScoreSequenceTest, ScoresEachNextToken) {
  // vocab 2; row s predicts token s+1. Rows: uniform, then (ln 3, 0) → p(0) = 3/4.
  const float logits[3 * 2] = {0.0f, 0.0f, std::log(3.0f), 0.0f, 5.0f, 5.0f};
  const int32_t tokens[3] = {1, 1, 0};
  EvalResult r;
  ScoreSequence(tokens, logits, 2, r);
  EXPECT_EQ(r.num_predicted, 2);
  EXPECT_EQ(r.num_tokens, 3);
  const double want = std::log(0.5) + std::log(0.75);
  EXPECT_NEAR(r.total_logprob, want, 1e-6);
  EXPECT_NEAR(r.mean_logprob(), want / 2, 1e-6);
  EXPECT_NEAR(r.perplexity(), std::exp(-want / 2), 1e-6);
}

TEST(EvaluateSequencesTest, MatchesReferenceLogits) {
  auto model = Model::Open(FixtureDir("mixtral"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const Reference ref = LoadReference("mixtral");
  const auto ids = ref.InputIds();
  const std::vector<float> want_logits = ref.F32("logits");
  const int vocab = (*model)->config().vocab_size;
  const size_t seq_len = ids[0].size();
  double want = 0;
  for (size_t b = 0; b < ids.size(); ++b) {
    for (size_t s = 0; s + 1 < seq_len; ++s) {
      want += TokenLogProb(want_logits.data() + (b * seq_len + s) * vocab, vocab, ids[b][s + 1]);
    }
  }
  auto got = EvaluateSequences(**model, ids, EvalOptions{});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->num_predicted, static_cast<int64_t>(ids.size() * (seq_len - 1)));
  EXPECT_NEAR(got->total_logprob, want, 1e-3);
}

}  // namespace
}  // namespace moedist::testing
