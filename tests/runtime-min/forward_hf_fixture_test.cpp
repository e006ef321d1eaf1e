// End-to-end check against Hugging Face transformers: every family in tests/fixtures/hf-tiny,
// unmasked and with the fixture's two expert masks. Logits within 1e-4 of the reference (bf16
// checkpoints: of the f32_compute.* reference, since runtime-min computes in f32), the same
// expert set per layer and token, and the same routing weights within 1e-4.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>

#include "hf_fixture_testutil.h"
#include "runtime-min/forward.h"

namespace moedist::testing {
namespace {

constexpr float kLogitTol = 1e-4f;
constexpr float kWeightTol = 1e-4f;
// The fixtures have no f32-computed masked routing for bf16 checkpoints; their masked weights
// come from bf16 arithmetic (about 3 significant digits), so only that comparison is looser.
constexpr float kBf16WeightTol = 2e-2f;

struct Case {
  std::string family;
  std::string variant;  // "unmasked", "mask_a", "mask_b"
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.family << "/" << c.variant;
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return info.param.family + "_" + info.param.variant;
}

class HfFixtureTest : public ::testing::TestWithParam<Case> {};

ExpertMask MaskFor(const Reference& ref, const ModelConfig& config, const std::string& variant) {
  if (variant == "unmasked") return ExpertMask();
  for (const auto& m : ref.json["masked"]) {
    if (m["name"] != variant) continue;
    std::map<int, std::vector<int>> layers;
    for (int l : m["applies_to_layers"].get<std::vector<int>>()) {
      layers[l] = m["allowed_experts"].get<std::vector<int>>();
    }
    auto mask = ExpertMask::FromLayers(config, layers, variant);
    EXPECT_TRUE(mask.ok()) << mask.status().ToString();
    return mask.ok() ? *mask : ExpertMask();
  }
  ADD_FAILURE() << "reference.json has no mask named " << variant;
  return ExpertMask();
}

TEST_P(HfFixtureTest, LogitsAndRoutingMatchTransformers) {
  const Case& tc = GetParam();
  auto model = Model::Open(FixtureDir(tc.family));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const ModelConfig& config = (*model)->config();
  const Reference ref = LoadReference(tc.family);
  ASSERT_TRUE(ref.tensors);
  const bool bf16 = ref.json["dtype"] == "bfloat16";
  const bool masked = tc.variant != "unmasked";
  const std::string variant_prefix = masked ? tc.variant + "." : "";
  // f32-computed references where the fixture has them (bf16 checkpoints).
  auto key = [&](const std::string& what) {
    std::string f32 = "f32_compute." + variant_prefix + what;
    if (bf16 && ref.Has(f32)) return f32;
    return variant_prefix + what;
  };
  const ExpertMask mask = MaskFor(ref, config, tc.variant);
  const std::vector<std::vector<int32_t>> ids = ref.InputIds();
  const std::vector<float> want = ref.F32(key("logits"));
  const int vocab = config.vocab_size, seq_len = static_cast<int>(ids[0].size());
  ASSERT_EQ(want.size(), ids.size() * seq_len * vocab);

  RoutingRecorder recorder;
  float max_diff = 0;
  for (size_t b = 0; b < ids.size(); ++b) {
    Sequence seq(**model);
    std::vector<float> logits;
    ForwardOptions opt;
    opt.mask = masked ? &mask : nullptr;
    opt.observer = &recorder;
    ASSERT_TRUE(Forward(**model, seq, ids[b], opt, &logits).ok());
    recorder.NextSequence(seq_len);
    for (int i = 0; i < seq_len * vocab; ++i) {
      max_diff = std::max(max_diff, std::fabs(logits[i] - want[b * seq_len * vocab + i]));
    }
  }
  std::printf("[hf-fixture] %-12s %-8s max|dlogits| = %.3g (vs %s)\n", tc.family.c_str(),
              tc.variant.c_str(), max_diff, key("logits").c_str());
  RecordProperty("max_abs_logit_diff", std::to_string(max_diff));
  EXPECT_LE(max_diff, kLogitTol);

  for (int l : config.MoeLayers()) {
    const std::string ikey = key("topk_indices." + std::to_string(l));
    const std::string wkey = key("topk_weights." + std::to_string(l));
    const std::vector<int64_t> want_idx = ref.I64(ikey);
    const std::vector<float> want_w = ref.F32(wkey);
    const int k = config.routing.top_k;
    const auto& got = recorder.experts[l];
    ASSERT_EQ(got.size() * k, want_idx.size()) << ikey;
    int mismatched = 0;
    float max_wdiff = 0;
    for (size_t t = 0; t < got.size(); ++t) {
      std::map<int, float> mine, theirs;
      for (int j = 0; j < k; ++j) {
        mine[got[t][j]] = recorder.weights[l][t][j];
        theirs[static_cast<int>(want_idx[t * k + j])] = want_w[t * k + j];
      }
      bool same = true;
      for (const auto& [e, wt] : mine) {
        auto it = theirs.find(e);
        if (it == theirs.end()) {
          same = false;
          continue;
        }
        max_wdiff = std::max(max_wdiff, std::fabs(wt - it->second));
      }
      if (!same) {
        ++mismatched;
        ADD_FAILURE() << ikey << " token " << t << ": expert sets differ";
      }
      if (masked) {
        const uint8_t* allowed = mask.allowed(l);
        for (const auto& [e, wt] : mine) {
          EXPECT_TRUE(!allowed || allowed[e]) << "layer " << l << " chose masked expert " << e;
        }
      }
    }
    EXPECT_EQ(mismatched, 0) << ikey;
    const bool bf16_computed = bf16 && wkey.rfind("f32_compute.", 0) != 0;
    EXPECT_LE(max_wdiff, bf16_computed ? kBf16WeightTol : kWeightTol) << wkey;
  }
}

std::vector<Case> AllCases() {
  std::vector<Case> out;
  for (const char* f : {"qwen3_moe", "qwen2_moe", "mixtral", "olmoe", "deepseek_v3", "llama4"}) {
    for (const char* v : {"unmasked", "mask_a", "mask_b"}) out.push_back({f, v});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Families, HfFixtureTest, ::testing::ValuesIn(AllCases()), CaseName);

}  // namespace
}  // namespace moedist::testing
