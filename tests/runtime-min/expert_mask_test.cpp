// Expert masks: both JSON forms, and refusal of bad masks with the layer named. Also the other
// bad inputs of a forward pass: token ids outside the vocabulary.
#include <gtest/gtest.h>

#include "hf_fixture_testutil.h"
#include "runtime-min/eval_io.h"
#include "runtime-min/forward.h"

namespace moedist::testing {
namespace {

class ExpertMaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Model::Open(FixtureDir("deepseek_v3"));  // 16 experts, top-4, MoE layers 1 and 2
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
  }
  const ModelConfig& config() const { return model_->config(); }
  std::unique_ptr<Model> model_;
};

TEST_F(ExpertMaskTest, AllowedAppliesToEveryMoeLayer) {
  auto m = ExpertMask::Parse(R"({"allowed": [0, 1, 2, 3, 9]})", "mask.json", config());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->allowed(0), nullptr);  // dense layer
  for (int l : {1, 2}) {
    ASSERT_NE(m->allowed(l), nullptr);
    EXPECT_TRUE(m->allowed(l)[9]);
    EXPECT_FALSE(m->allowed(l)[4]);
  }
  EXPECT_TRUE(m->restricts_anything());
}

TEST_F(ExpertMaskTest, LayersFormLeavesOtherLayersOpen) {
  auto m = ExpertMask::Parse(R"({"layers": {"2": [4, 5, 6, 7]}})", "mask.json", config());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->allowed(1), nullptr);
  ASSERT_NE(m->allowed(2), nullptr);
  EXPECT_TRUE(m->allowed(2)[5]);
  EXPECT_FALSE(m->allowed(2)[0]);
}

struct BadMask {
  const char* json;
  const char* expect;  // substring of the error
};

class BadMaskTest : public ExpertMaskTest, public ::testing::WithParamInterface<BadMask> {};

TEST_P(BadMaskTest, RefusedWithReason) {
  auto m = ExpertMask::Parse(GetParam().json, "mask.json", config());
  ASSERT_FALSE(m.ok()) << GetParam().json;
  EXPECT_NE(m.status().message().find(GetParam().expect), std::string::npos)
      << m.status().message();
  EXPECT_NE(m.status().message().find("mask.json"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Defects, BadMaskTest,
    ::testing::Values(
        BadMask{R"({"allowed": [0, 1, 2, 16]})", "layer 1: expert id 16 is out of range"},
        BadMask{R"({"allowed": [0, 1, -1, 3]})", "expert id -1 is out of range"},
        BadMask{R"({"layers": {"2": [0, 1, 2]}})", "layer 2 allows 3 expert(s) but the router "
                                                   "chooses 4"},
        BadMask{R"({"allowed": [0, 1, 1, 2, 3]})", "expert id 1 is listed twice"},
        BadMask{R"({"layers": {"0": [0, 1, 2, 3]}})", "layer 0 is not a MoE layer"},
        BadMask{R"({"layers": {"x": [0, 1, 2, 3]}})", "key \"x\" is not a layer index"},
        BadMask{R"({"allowed": [0, 1, 2, 3], "layers": {}})", "exactly one of"},
        BadMask{R"({"allowd": [0, 1, 2, 3]})", "unknown field \"allowd\""},
        BadMask{R"({"allowed": [0, 1, 2, "3"]})", "expected integer expert ids"},
        BadMask{R"([0, 1, 2, 3])", "expected a JSON object"}));

TEST_F(ExpertMaskTest, TokenIdsOutsideVocabAreRefused) {
  Sequence seq(*model_);
  std::vector<float> logits;
  const std::vector<int32_t> ids = {1, 2, 256};
  Status st = Forward(*model_, seq, ids, ForwardOptions{}, &logits);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("token id 256 at index 2 is out of range (vocab_size 256)"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(seq.length(), 0);  // nothing ran
  const std::vector<int32_t> negative = {-1};
  EXPECT_FALSE(Forward(*model_, seq, negative, ForwardOptions{}, &logits).ok());

  auto batches = ParseTokenIdBatches("[[1, 2], [3, 300]]", "ids.json", 256);
  ASSERT_FALSE(batches.ok());
  EXPECT_NE(batches.status().message().find(
                "ids.json: sequence 1, position 1: token id 300 is out of range (vocab_size 256)"),
            std::string::npos)
      << batches.status().message();
  EXPECT_FALSE(ParseTokenIdBatches("[[1, 2], []]", "ids.json", 256).ok());
  EXPECT_FALSE(ParseTokenIdBatches("[]", "ids.json", 256).ok());
  EXPECT_FALSE(ParseTokenIdBatches("[[1, 2.5]]", "ids.json", 256).ok());
}

}  // namespace
}  // namespace moedist::testing
