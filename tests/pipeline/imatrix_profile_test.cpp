// profile --imatrix on the six hf-tiny families: the recorded sums against sums computed here
// (by hand from the embedding for layer 0, from runtime-min's own matmul inputs for the rest),
// token counts against the routing the gate profile records, the file round trip, the names
// against the checkpoint as pack matches them, and both forward orders giving the same file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "formats/hf_checkpoint.h"
#include "formats/imatrix_gguf.h"
#include "formats/tensor_taxonomy.h"
#include "pipeline/gate_profiler.h"
#include "pipeline/imatrix_recorder.h"
#include "pipeline/pack_imatrix.h"
#include "runtime-min/decoder_layer.h"
#include "runtime-min/forward.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
const fs::path kHfTiny = fs::path(moedist::test_dirs::FixtureRoot()) / "fixtures" / "hf-tiny";

fs::path TempPath(const std::string& name) {
  return fs::temp_directory_path() / ("moedist-imatrix-" + std::to_string(::getpid()) + "-" + name);
}

std::vector<std::vector<int32_t>> ReferenceIds(const fs::path& dir) {
  auto text = ReadSmallFile((dir / "reference.json").string(), 1 << 20);
  EXPECT_TRUE(text.ok());
  auto ref = ParseJsonStrict(*text, "reference.json");
  EXPECT_TRUE(ref.ok());
  return (*ref)["input_ids"].get<std::vector<std::vector<int32_t>>>();
}

fs::path WriteSuite(const std::string& name, const std::vector<std::vector<int32_t>>& ids) {
  const fs::path suite = TempPath(name + ".jsonl");
  std::ofstream out(suite);
  for (size_t i = 0; i < ids.size(); ++i) {
    out << nlohmann::json({{"id", "p" + std::to_string(i)}, {"domain", "ref"}, {"ids", ids[i]}})
               .dump()
        << "\n";
  }
  return suite;
}

struct Profiled {
  GateProfile profile;
  Imatrix imatrix;
};

Profiled Profile(const fs::path& dir, const fs::path& suite, bool stream) {
  Imatrix m;
  ProfileOptions o;
  o.checkpoint = dir.string();
  o.suite = suite.string();
  o.layers = "all";
  o.stream_layers = stream;
  o.imatrix = &m;
  auto p = RunGateProfile(o);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return {p.ok() ? *p : GateProfile{}, std::move(m)};
}

// Keeps every matmul input the forward pass reports, summed here in double, token by token.
class SumsHere final : public ActivationObserver {
 public:
  void OnMatmulInput(const MatmulInput& in) override {
    auto& [sums, counts] = seen[{in.layer, static_cast<int>(in.weight), in.expert}];
    sums.resize(static_cast<size_t>(in.in_features), 0.0);
    for (int t = 0; t < in.num_rows; ++t) {
      for (int64_t j = 0; j < in.in_features; ++j) {
        const double x = in.rows[t * in.in_features + j];
        sums[j] += x * x;
      }
    }
    counts += static_cast<uint64_t>(in.num_rows);
  }
  std::map<std::tuple<int, int, int>, std::pair<std::vector<double>, uint64_t>> seen;
};

class ImatrixProfile : public testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(HfTiny, ImatrixProfile,
                         testing::Values("qwen3_moe", "qwen2_moe", "mixtral", "olmoe",
                                         "deepseek_v3", "llama4"),
                         [](const auto& info) { return info.param; });

TEST_P(ImatrixProfile, SumsAndCountsMatchIndependentComputation) {
  const fs::path dir = kHfTiny / GetParam();
  const auto ids = ReferenceIds(dir);
  const fs::path suite = WriteSuite(GetParam(), ids);
  Profiled got = Profile(dir, suite, false);
  fs::remove(suite);
  auto model = Model::Open(dir.string());
  ASSERT_TRUE(model.ok());
  const ModelConfig& c = (*model)->config();
  const int hs = c.hidden_size;
  uint64_t tokens = 0;
  for (const auto& p : ids) tokens += p.size();
  EXPECT_EQ(got.imatrix.chunk_count, ids.size());
  ASSERT_EQ(got.imatrix.datasets.size(), 1u);

  // 1. By hand: layer 0's k (MLA: kv_a) projection sees RMSNorm(embedding) × attn_norm.
  const std::string first = c.attention.kind == AttentionKind::kMla ? "blk.0.attn_kv_a_mqa.weight"
                                                                    : "blk.0.attn_k.weight";
  ASSERT_TRUE(got.imatrix.entries.count(first)) << first;
  std::vector<double> hand(hs, 0.0);
  for (const auto& p : ids) {
    std::vector<float> x(p.size() * hs), xn(p.size() * hs);
    ASSERT_TRUE(EmbedTokens(**model, p, x.data()).ok());
    RmsNormRows(x.data(), (*model)->weights().layers[0].attn_norm, static_cast<int>(p.size()), hs,
                c.rms_norm_eps, xn.data());
    for (size_t i = 0; i < xn.size(); ++i) hand[i % hs] += double(xn[i]) * xn[i];
  }
  const ImatrixEntry& e0 = got.imatrix.entries.at(first);
  ASSERT_EQ(e0.in_features, static_cast<uint64_t>(hs));
  EXPECT_EQ(e0.counts, std::vector<float>{static_cast<float>(tokens)});
  for (int j = 0; j < hs; ++j) EXPECT_EQ(e0.in_sum2[j], static_cast<float>(hand[j])) << j;

  // 2. Routed experts: per-expert counts are the router's selections (gate profile), for the
  //    gate, up and down matrices alike; a dense matrix counts every token.
  for (const LayerGateProfile& l : got.profile.layers) {
    for (const char* proj : {"gate", "up", "down"}) {
      const std::string name = fmt::format("blk.{}.ffn_{}_exps.weight", l.layer, proj);
      ASSERT_TRUE(got.imatrix.entries.count(name)) << name;
      const ImatrixEntry& e = got.imatrix.entries.at(name);
      ASSERT_EQ(e.matrices(), static_cast<uint64_t>(c.routing.num_experts)) << name;
      for (int x = 0; x < c.routing.num_experts; ++x) {
        EXPECT_EQ(e.counts[x], static_cast<float>(l.selection_count[x])) << name << " " << x;
      }
    }
  }

  // 3. Every entry equals the sums of runtime-min's matmul inputs, added up here.
  SumsHere here;
  ForwardOptions fo;
  fo.activations = &here;
  fo.all_logits = false;
  for (const auto& p : ids) {
    Sequence seq(**model);
    ASSERT_TRUE(Forward(**model, seq, p, fo, nullptr).ok());
  }
  size_t matched = 0;
  for (const auto& [key, value] : here.seen) {
    const auto& [layer, weight, expert] = key;
    const std::string name = ImatrixTensorName(layer, static_cast<MatmulWeight>(weight));
    ASSERT_TRUE(got.imatrix.entries.count(name)) << name;
    const ImatrixEntry& e = got.imatrix.entries.at(name);
    const uint64_t m = expert < 0 ? 0 : static_cast<uint64_t>(expert);
    ASSERT_EQ(e.in_features, value.first.size()) << name;
    EXPECT_EQ(e.counts[m], static_cast<float>(value.second)) << name;
    for (size_t j = 0; j < value.first.size(); ++j) {
      ASSERT_EQ(e.in_sum2[m * e.in_features + j], static_cast<float>(value.first[j]))
          << name << " matrix " << m << " column " << j;
    }
    ++matched;
  }
  EXPECT_GT(matched, got.imatrix.entries.size() - 1);
}

// The names and shapes are those pack expects of this checkpoint: every 2-D weight llama.cpp
// multiplies gets weights (Llama-4's packed experts are checked, not weighted); and the file
// reads back as written.
TEST_P(ImatrixProfile, FileRoundTripsAndCoversTheCheckpoint) {
  const fs::path dir = kHfTiny / GetParam();
  const fs::path suite = WriteSuite(GetParam() + "-cover", ReferenceIds(dir));
  Profiled got = Profile(dir, suite, false);
  fs::remove(suite);
  const fs::path file = TempPath(GetParam() + ".imatrix.gguf");
  ASSERT_TRUE(WriteImatrixFile(file.string(), got.imatrix).ok());
  auto back = ReadImatrixFile(file.string());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->entries.size(), got.imatrix.entries.size());
  for (const auto& [name, e] : got.imatrix.entries) {
    EXPECT_EQ(back->entries.at(name).in_sum2, e.in_sum2) << name;
    EXPECT_EQ(back->entries.at(name).counts, e.counts) << name;
  }

  auto ckpt = Checkpoint::Open(dir.string());
  ASSERT_TRUE(ckpt.ok());
  auto classified = ClassifyCheckpoint(**ckpt);
  ASSERT_TRUE(classified.ok());
  auto pm = PackImatrix::Load(file.string(), **ckpt, *classified);
  fs::remove(file);
  ASSERT_TRUE(pm.ok()) << pm.status().ToString();
  int weighted = 0, packed = 0;
  for (const ClassifiedTensor& t : *classified) {
    const std::string& n = t.tensor->name;
    if (t.role.cls == TensorClass::kRoutedExpertsPacked) {
      EXPECT_TRUE(pm->NotApplicable(n)) << n;
      EXPECT_EQ(pm->For(n), nullptr) << n;
      ++packed;
      continue;
    }
    const bool matrix = t.tensor->shape().size() == 2 && n.ends_with(".weight") &&
                        t.role.cls != TensorClass::kEmbedding &&
                        t.role.cls != TensorClass::kLmHead && t.role.cls != TensorClass::kNorm &&
                        t.role.cls != TensorClass::kVision;
    if (!matrix) continue;
    auto w = pm->For(n);
    ASSERT_NE(w, nullptr) << n << " has no importance weights";
    EXPECT_EQ(w->size(), t.tensor->shape()[1]) << n;
    ++weighted;
  }
  EXPECT_GT(weighted, 0);
  EXPECT_EQ(packed > 0, GetParam() == "llama4");
}

// Layer by layer (--stream-layers, what --max-rss picks for large models) records the same
// importance matrix, bit for bit, though it runs each layer over all prompts before the next.
TEST_P(ImatrixProfile, LayerStreamRecordsIdenticalSums) {
  const fs::path dir = kHfTiny / GetParam();
  const fs::path suite = WriteSuite(GetParam() + "-stream", ReferenceIds(dir));
  Profiled a = Profile(dir, suite, false);
  Profiled b = Profile(dir, suite, true);
  fs::remove(suite);
  EXPECT_EQ(b.profile.execution.mode, "layer-stream");
  ASSERT_EQ(a.imatrix.entries.size(), b.imatrix.entries.size());
  auto model = Model::Open(dir.string());
  ASSERT_TRUE(model.ok());
  // Every layer is there, though gate statistics stop at the last MoE layer.
  const int last = (*model)->config().num_layers - 1;
  EXPECT_TRUE(b.imatrix.entries.count(fmt::format("blk.{}.attn_output.weight", last)));
  for (const auto& [name, e] : a.imatrix.entries) {
    ASSERT_TRUE(b.imatrix.entries.count(name)) << name;
    EXPECT_EQ(b.imatrix.entries.at(name).in_sum2, e.in_sum2) << name;
    EXPECT_EQ(b.imatrix.entries.at(name).counts, e.counts) << name;
  }
}

}  // namespace
}  // namespace moedist
