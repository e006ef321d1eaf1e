// Table-driven tests of ParseModelConfig: every hf-tiny fixture's config.json gives the values
// transformers wrote, and each edge case (missing, out-of-range, contradictory fields; family
// spellings) is refused naming the field, or accepted with the resolved value.
#include "formats/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
const fs::path kHfTiny = fs::path(moedist::test_dirs::FixtureRoot()) / "fixtures" / "hf-tiny";

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json FixtureConfig(const std::string& family) {
  return nlohmann::json::parse(ReadText(kHfTiny / family / "config.json"));
}

// ---- fixtures -------------------------------------------------------------------------------

struct FixtureCase {
  std::string family;
  Family expected_family;
  int layers;
  std::vector<int> moe_layers;
  int experts;
  int top_k;
  int shared_experts;
  int moe_intermediate;
  int intermediate;
  int shared_intermediate;
  ScoringFunc scoring;
  bool norm_topk_prob;
  AttentionKind attention;
  int heads, kv_heads, head_dim;
  ExpertLayout layout;
};

void PrintTo(const FixtureCase& c, std::ostream* os) {
  *os << c.family;
}

class FixtureConfigTest : public ::testing::TestWithParam<FixtureCase> {};

// Values read off each fixture's config.json (and, for resolved fields, the family's
// transformers modelling code).
INSTANTIATE_TEST_SUITE_P(HfTiny, FixtureConfigTest,
                         ::testing::Values(FixtureCase{"qwen3_moe",
                                                       Family::kQwen3Moe,
                                                       2,
                                                       {0, 1},
                                                       8,
                                                       2,
                                                       0,
                                                       32,
                                                       64,
                                                       0,
                                                       ScoringFunc::kSoftmax,
                                                       true,
                                                       AttentionKind::kGqa,
                                                       4,
                                                       2,
                                                       32,
                                                       ExpertLayout::kPerExpert},
                                           FixtureCase{"qwen2_moe",
                                                       Family::kQwen2Moe,
                                                       2,
                                                       {0, 1},
                                                       8,
                                                       4,
                                                       1,
                                                       32,
                                                       64,
                                                       64,
                                                       ScoringFunc::kSoftmax,
                                                       false,
                                                       AttentionKind::kGqa,
                                                       4,
                                                       2,
                                                       16,
                                                       ExpertLayout::kPerExpert},
                                           FixtureCase{"mixtral",
                                                       Family::kMixtral,
                                                       2,
                                                       {0, 1},
                                                       8,
                                                       2,
                                                       0,
                                                       64,
                                                       0,
                                                       0,
                                                       ScoringFunc::kSoftmax,
                                                       true,
                                                       AttentionKind::kGqa,
                                                       4,
                                                       2,
                                                       16,
                                                       ExpertLayout::kPerExpert},
                                           FixtureCase{"olmoe",
                                                       Family::kOlmoe,
                                                       2,
                                                       {0, 1},
                                                       16,
                                                       4,
                                                       0,
                                                       32,
                                                       0,
                                                       0,
                                                       ScoringFunc::kSoftmax,
                                                       false,
                                                       AttentionKind::kGqa,
                                                       4,
                                                       2,
                                                       16,
                                                       ExpertLayout::kPerExpert},
                                           FixtureCase{"deepseek_v3",
                                                       Family::kDeepseekV3,
                                                       3,
                                                       {1, 2},
                                                       16,
                                                       4,
                                                       1,
                                                       32,
                                                       96,
                                                       32,
                                                       ScoringFunc::kSigmoid,
                                                       true,
                                                       AttentionKind::kMla,
                                                       4,
                                                       4,
                                                       24,
                                                       ExpertLayout::kPerExpert},
                                           FixtureCase{"llama4",
                                                       Family::kLlama4,
                                                       4,
                                                       {0, 1, 2, 3},
                                                       8,
                                                       1,
                                                       1,
                                                       32,
                                                       64,
                                                       32,
                                                       ScoringFunc::kSigmoidTopk,
                                                       false,
                                                       AttentionKind::kGqa,
                                                       4,
                                                       2,
                                                       16,
                                                       ExpertLayout::kPackedLlama4}),
                         [](const auto& info) { return info.param.family; });

TEST_P(FixtureConfigTest, ParsesWhatTransformersWrote) {
  const FixtureCase& fc = GetParam();
  auto c = LoadModelConfig((kHfTiny / fc.family).string());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->family, fc.expected_family);
  EXPECT_EQ(c->num_layers, fc.layers);
  EXPECT_EQ(c->MoeLayers(), fc.moe_layers);
  EXPECT_EQ(c->routing.num_experts, fc.experts);
  EXPECT_EQ(c->routing.top_k, fc.top_k);
  EXPECT_EQ(c->routing.num_shared_experts, fc.shared_experts);
  EXPECT_EQ(c->moe_intermediate_size, fc.moe_intermediate);
  EXPECT_EQ(c->intermediate_size, fc.intermediate);
  EXPECT_EQ(c->shared_intermediate_size, fc.shared_intermediate);
  EXPECT_EQ(c->routing.scoring, fc.scoring);
  EXPECT_EQ(c->routing.norm_topk_prob, fc.norm_topk_prob);
  EXPECT_EQ(c->attention.kind, fc.attention);
  EXPECT_EQ(c->attention.num_heads, fc.heads);
  EXPECT_EQ(c->attention.num_kv_heads, fc.kv_heads);
  EXPECT_EQ(c->attention.head_dim, fc.head_dim);
  EXPECT_EQ(c->expert_layout, fc.layout);
  EXPECT_EQ(c->hidden_size, 64);
  EXPECT_EQ(c->vocab_size, 256);
  EXPECT_EQ(c->attention.rope_layers.size(), static_cast<size_t>(fc.layers));
  EXPECT_GT(c->attention.softmax_scale, 0.0);
}

TEST(ModelConfig, DeepseekFixtureGroupedRouting) {
  auto c = LoadModelConfig((kHfTiny / "deepseek_v3").string());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->routing.n_group, 4);
  EXPECT_EQ(c->routing.topk_group, 2);
  EXPECT_EQ(c->routing.topk_method, "noaux_tc");
  EXPECT_TRUE(c->routing.correction_bias);
  EXPECT_DOUBLE_EQ(c->routing.routed_scaling_factor, 2.5);
  EXPECT_EQ(c->attention.q_lora_rank, 32);
  EXPECT_EQ(c->attention.kv_lora_rank, 32);
  EXPECT_EQ(c->attention.v_head_dim, 16);
  EXPECT_TRUE(c->attention.rope_interleave);
}

TEST(ModelConfig, Llama4FixtureNoRopeLayersAndWeightScaling) {
  auto c = LoadModelConfig((kHfTiny / "llama4").string());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->attention.rope_layers, (std::vector<bool>{true, true, true, false}));
  EXPECT_TRUE(c->routing.weight_scales_input);
  EXPECT_EQ(c->attention.qk_norm, AttentionConfig::QkNorm::kL2);
  EXPECT_EQ(c->weight_prefix, "");
}

// ---- edge cases -----------------------------------------------------------------------------

// A tiny gpt_oss config (no gpt_oss fixture exists): the one family with two expert-count
// spellings (num_local_experts / num_experts) that can contradict.
const char* kGptOss = R"({"model_type": "gpt_oss", "architectures": ["GptOssForCausalLM"],
  "hidden_size": 64, "intermediate_size": 32, "num_hidden_layers": 2, "vocab_size": 256,
  "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
  "num_local_experts": 8, "num_experts_per_tok": 2})";

// One change to a base config (a fixture family, "gpt_oss" for kGptOss, or "" for {}) as a
// JSON merge patch (null removes a key), and what must happen: `error` empty means accepted.
struct EdgeCase {
  std::string name;
  std::string base;
  std::string patch;
  std::string error;
};

std::string Patched(const EdgeCase& ec) {
  nlohmann::json j = ec.base.empty()        ? nlohmann::json::object()
                     : ec.base == "gpt_oss" ? nlohmann::json::parse(kGptOss)
                                            : FixtureConfig(ec.base);
  j.merge_patch(nlohmann::json::parse(ec.patch));
  return j.dump();
}

void PrintTo(const EdgeCase& c, std::ostream* os) {
  *os << c.name;
}

class EdgeCaseTest : public ::testing::TestWithParam<EdgeCase> {};

INSTANTIATE_TEST_SUITE_P(
    Table, EdgeCaseTest,
    ::testing::Values(
        // Structure.
        EdgeCase{"NotAnObject", "", "[]", "not a JSON object"},
        EdgeCase{"MissingModelType", "", "{}", "missing field \"model_type\""},
        EdgeCase{"ModelTypeNotString", "qwen3_moe", R"({"model_type": 3})",
                 "field \"model_type\" is 3, expected a string"},
        EdgeCase{"UnknownModelType", "qwen3_moe", R"({"model_type": "qwen9_moe"})",
                 "model_type \"qwen9_moe\" is not a supported MoE family"},
        // Common fields.
        EdgeCase{"MissingLayers", "qwen3_moe", R"({"num_hidden_layers": null})",
                 "missing field \"num_hidden_layers\""},
        EdgeCase{"ZeroLayers", "qwen3_moe", R"({"num_hidden_layers": 0})",
                 "field \"num_hidden_layers\" is 0, expected 1..4096"},
        EdgeCase{"TooManyLayers", "qwen3_moe", R"({"num_hidden_layers": 5000})",
                 "field \"num_hidden_layers\" is 5000, expected 1..4096"},
        EdgeCase{"NegativeHidden", "qwen3_moe", R"({"hidden_size": -64})",
                 "field \"hidden_size\" is -64"},
        EdgeCase{"FloatHidden", "qwen3_moe", R"({"hidden_size": 64.5})",
                 "field \"hidden_size\" is 64.5, expected an integer"},
        EdgeCase{"HugeUnsignedHidden", "qwen3_moe", R"({"hidden_size": 18446744073709551615})",
                 "field \"hidden_size\" is 18446744073709551615, expected 1..4194304"},
        EdgeCase{"BoolTieEmbeddingsWrongType", "qwen3_moe", R"({"tie_word_embeddings": 1})",
                 "field \"tie_word_embeddings\" is 1, expected true or false"},
        EdgeCase{"RmsEpsNotNumber", "qwen3_moe", R"({"rms_norm_eps": "1e-6"})",
                 "field \"rms_norm_eps\" is \"1e-6\", expected a finite number"},
        EdgeCase{"MissingTopK", "qwen3_moe", R"({"num_experts_per_tok": null})",
                 "missing field \"num_experts_per_tok\""},
        EdgeCase{"TopKExceedsExperts", "qwen3_moe", R"({"num_experts_per_tok": 9})",
                 "num_experts_per_tok 9 exceeds the 8 routed experts"},
        EdgeCase{"TopKEqualsExperts", "qwen3_moe", R"({"num_experts_per_tok": 8})", ""},
        EdgeCase{"HeadsNotMultipleOfKv", "qwen3_moe", R"({"num_key_value_heads": 3})",
                 "num_attention_heads 4 is not a multiple of num_key_value_heads 3"},
        EdgeCase{"KvHeadsDefaultToHeads", "qwen3_moe", R"({"num_key_value_heads": null})", ""},
        // Qwen.
        EdgeCase{"QwenMissingExperts", "qwen3_moe", R"({"num_experts": null})",
                 "missing field \"num_experts\""},
        EdgeCase{"QwenTooManyExperts", "qwen3_moe", R"({"num_experts": 70000})",
                 "field \"num_experts\" is 70000, expected 1..65536"},
        EdgeCase{"QwenMissingMoeIntermediate", "qwen2_moe", R"({"moe_intermediate_size": null})",
                 "missing field \"moe_intermediate_size\""},
        EdgeCase{"Qwen2MissingSharedIntermediate", "qwen2_moe",
                 R"({"shared_expert_intermediate_size": null})",
                 "missing field \"shared_expert_intermediate_size\""},
        EdgeCase{"QwenMlpOnlyLayerOutOfRange", "qwen3_moe", R"({"mlp_only_layers": [2]})",
                 "field \"mlp_only_layers\" has 2, expected integers in 0..1"},
        EdgeCase{"QwenEveryLayerDense", "qwen3_moe", R"({"mlp_only_layers": [0, 1]})",
                 "no layer is a MoE layer"},
        EdgeCase{"QwenSparseStepSkipsAll", "qwen3_moe", R"({"decoder_sparse_step": 3})",
                 "no layer is a MoE layer"},
        // Mixtral / OLMoE.
        EdgeCase{"MixtralMissingLocalExperts", "mixtral", R"({"num_local_experts": null})",
                 "missing field \"num_local_experts\""},
        EdgeCase{"OlmoeExpertsWrongType", "olmoe", R"({"num_experts": [16]})",
                 "field \"num_experts\" is [16], expected an integer"},
        // DeepSeek.
        EdgeCase{"DeepseekMissingRoutedExperts", "deepseek_v3", R"({"n_routed_experts": null})",
                 "missing field \"n_routed_experts\""},
        EdgeCase{"DeepseekGroupsDoNotDivideExperts", "deepseek_v3", R"({"n_group": 3})",
                 "n_group 3 does not divide the 16 routed experts"},
        EdgeCase{"DeepseekTopkGroupExceedsGroups", "deepseek_v3", R"({"topk_group": 5})",
                 "topk_group 5 exceeds n_group 4"},
        EdgeCase{"DeepseekGroupsCannotSupplyTopK", "deepseek_v3",
                 R"({"topk_group": 1, "num_experts_per_tok": 5})",
                 "topk_group 1 groups of 4 experts cannot supply 5 experts"},
        EdgeCase{"DeepseekUnknownScoring", "deepseek_v3", R"({"scoring_func": "relu"})",
                 "scoring_func \"relu\""},
        EdgeCase{"DeepseekUnknownTopkMethod", "deepseek_v3", R"({"topk_method": "random"})",
                 "topk_method \"random\""},
        EdgeCase{"DeepseekAllDense", "deepseek_v3", R"({"first_k_dense_replace": 3})",
                 "no layer is a MoE layer"},
        EdgeCase{"DeepseekDenseBeyondLayers", "deepseek_v3", R"({"first_k_dense_replace": 4})",
                 "field \"first_k_dense_replace\" is 4, expected 0..3"},
        EdgeCase{"DeepseekMissingKvLoraRank", "deepseek_v3", R"({"kv_lora_rank": null})",
                 "missing field \"kv_lora_rank\""},
        EdgeCase{"DeepseekSharedWidthOverflow", "deepseek_v3",
                 R"({"n_shared_experts": 65536, "moe_intermediate_size": 4194304})",
                 "n_shared_experts 65536 × moe_intermediate_size 4194304"},
        EdgeCase{"DeepseekV2Defaults", "deepseek_v3",
                 R"({"model_type": "deepseek_v2", "topk_method": null, "n_group": null,
                     "topk_group": null})",
                 ""},
        EdgeCase{"KimiK2Spelling", "deepseek_v3", R"({"model_type": "kimi_k2"})", ""},
        // Llama-4.
        EdgeCase{"Llama4MoeLayersDisagreeWithStep", "llama4",
                 R"({"moe_layers": [1, 3], "interleave_moe_layer_step": 1})",
                 "\"moe_layers\" disagrees with \"interleave_moe_layer_step\" 1 at layer 0"},
        EdgeCase{"Llama4MoeLayersAgreeWithStep", "llama4",
                 R"({"moe_layers": [1, 3], "interleave_moe_layer_step": 2})", ""},
        EdgeCase{"Llama4NoRopeWrongLength", "llama4", R"({"no_rope_layers": [1, 1]})",
                 "\"no_rope_layers\" has 2 entries, expected 4"},
        EdgeCase{"Llama4NoRopeNotBinary", "llama4", R"({"no_rope_layers": [1, 1, 2, 1]})",
                 "field \"no_rope_layers\" has 2, expected integers in 0..1"},
        EdgeCase{"Llama4MultimodalWithoutTextConfig", "llama4", R"({"model_type": "llama4"})",
                 "model_type llama4 without a \"text_config\" object"},
        // GPT-OSS.
        EdgeCase{"GptOssAsWritten", "gpt_oss", "{}", ""},
        EdgeCase{"GptOssContradictoryExpertCounts", "gpt_oss", R"({"num_experts": 16})",
                 "contradictory expert counts: \"num_local_experts\" = 8 but "
                 "\"num_experts\" = 16"},
        EdgeCase{"GptOssOtherSpellingOnly", "gpt_oss",
                 R"({"num_local_experts": null, "num_experts": 8})", ""},
        EdgeCase{"GptOssNoExpertCount", "gpt_oss", R"({"num_local_experts": null})",
                 "missing field \"num_local_experts\" or \"num_experts\""},
        EdgeCase{"GptOssExpertsPerTokenDisagrees", "gpt_oss", R"({"experts_per_token": 3})",
                 "\"experts_per_token\" = 3 but \"num_experts_per_tok\" = 2"}),
    [](const auto& info) { return info.param.name; });

TEST_P(EdgeCaseTest, RefusedNamingTheFieldOrAccepted) {
  const EdgeCase& ec = GetParam();
  auto c = ParseModelConfig(Patched(ec), "test/config.json");
  if (ec.error.empty()) {
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return;
  }
  ASSERT_FALSE(c.ok()) << ec.name << " was accepted";
  EXPECT_THAT(c.status().message(), HasSubstr(ec.error));
  EXPECT_THAT(c.status().message(), HasSubstr("config.json"));
}

TEST(ModelConfig, GptOssSpellingsThatAgreeAreAccepted) {
  nlohmann::json j = nlohmann::json::parse(kGptOss);
  j["num_experts"] = 8;
  j["experts_per_token"] = 2;
  auto c = ParseModelConfig(j.dump(), "config.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->family, Family::kGptOss);
  EXPECT_EQ(c->routing.num_experts, 8);
  EXPECT_EQ(c->expert_layout, ExpertLayout::kPackedGptOss);
  EXPECT_EQ(c->routing.scoring, ScoringFunc::kSoftmaxTopk);
  EXPECT_TRUE(c->routing.router_bias);
}

TEST(ModelConfig, Llama4MultimodalReadsTextConfigAndPrefixesWeights) {
  nlohmann::json j = {{"model_type", "llama4"},
                      {"architectures", {"Llama4ForConditionalGeneration"}},
                      {"text_config", FixtureConfig("llama4")},
                      {"vision_config", {{"hidden_size", 32}}}};
  auto c = ParseModelConfig(j.dump(), "config.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->family, Family::kLlama4);
  EXPECT_EQ(c->weight_prefix, "language_model.");
  EXPECT_EQ(c->routing.num_experts, 8);
  EXPECT_EQ(c->num_layers, 4);
}

TEST(ModelConfig, DuplicateKeyIsRefused) {
  const std::string text = ReadText(kHfTiny / "qwen3_moe" / "config.json");
  std::string dup = text;
  dup.insert(dup.find('{') + 1, "\"num_experts\": 64,");
  auto c = ParseModelConfig(dup, "config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("duplicate JSON key \"num_experts\""));
}

TEST(ModelConfig, MissingFileIsNotFound) {
  auto c = LoadModelConfig("/nonexistent-moedist-dir");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("config.json"));
}

// ---- transformers v5 spellings ---------------------------------------------------------------
// transformers 5 writes "num_local_experts" for Qwen3-MoE and "rope_parameters" for RoPE
// (examples/model/checkpoint was written so); both spellings mean the same values.
namespace v5 {

TEST(ModelConfigV5, Qwen3ExpertCountUnderEitherSpelling) {
  nlohmann::json j = FixtureConfig("qwen3_moe");
  const int experts = j["num_experts"].get<int>();
  j.erase("num_experts");
  j["num_local_experts"] = experts;
  auto c = ParseModelConfig(j.dump(), "config.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->routing.num_experts, experts);
  j["num_experts"] = experts + 1;
  auto bad = ParseModelConfig(j.dump(), "config.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("contradictory expert counts"));
}

TEST(ModelConfigV5, RopeThetaFromRopeParameters) {
  nlohmann::json j = FixtureConfig("qwen3_moe");
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_theta", 123456.0}, {"rope_type", "default"}};
  auto c = ParseModelConfig(j.dump(), "config.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->attention.rope_theta, 123456.0);
  EXPECT_TRUE(c->attention.rope_scaling.is_null());
  j["rope_theta"] = 10000.0;
  auto bad = ParseModelConfig(j.dump(), "config.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("rope_parameters.rope_theta"));
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_theta", 5e5}, {"rope_type", "yarn"}, {"factor", 4.0}};
  auto scaled = ParseModelConfig(j.dump(), "config.json");
  ASSERT_TRUE(scaled.ok()) << scaled.status().ToString();
  EXPECT_EQ(scaled->attention.rope_scaling["rope_type"], "yarn");
  j["rope_parameters"] = "fast";
  auto not_object = ParseModelConfig(j.dump(), "config.json");
  ASSERT_FALSE(not_object.ok());
  EXPECT_THAT(not_object.status().message(), HasSubstr("\"rope_parameters\""));
}

}  // namespace v5

}  // namespace
}  // namespace moedist
