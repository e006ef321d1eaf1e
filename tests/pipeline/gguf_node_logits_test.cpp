// runtime-min reads node GGUFs (issue 7): for every family a GGUF node can express, the logits
// of the GGUF node (Model::OpenGguf, no mask: its router is sliced) equal, bit for bit, those of
// the safetensors node of the same release (Model::Open with the release root, and the node's
// expert mask in mask mode). Weights are f32/bf16 kept as in the checkpoint, and q8_0 for the
// example, whose blocks are the same bytes in both files.
#include <gtest/gtest.h>

#include <cstring>

#include "gguf_node_testutil.h"
#include "pack_fixture_testutil.h"
#include "pipeline/node_bundle.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/model.h"

namespace moedist {
namespace {

using pack_testing::TempDir;

std::vector<std::vector<int32_t>> IdsFor(const gguf_testing::GgufCase& c, int vocab) {
  if (c.checkpoint.find("hf-tiny") != std::string::npos) {
    const std::string family = gguf_testing::CaseFamily(c);
    return pack_testing::FixtureInputIds(family);
  }
  std::vector<int32_t> seq;
  for (int i = 0; i < 12; ++i) seq.push_back((i * 37 + 11) % vocab);
  return {seq};
}

TEST(GgufNodeLogits, GgufNodeEqualsSafetensorsNodeBitForBit) {
  TempDir scratch;
  int compared = 0;
  for (const gguf_testing::GgufCase& c : gguf_testing::GgufCases(scratch.path())) {
    if (c.expect_refusal) continue;
    SCOPED_TRACE(c.name);
    const std::string dist = scratch.Sub("dist-" + c.name);
    auto report = gguf_testing::PackCase(c, dist, NodeFileFormat::kBoth);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    for (const NodeInfo& info : report->nodes) {
      SCOPED_TRACE(info.node);
      const std::string dir = dist + "/" + info.node;
      auto st_model = Model::Open(dir, CheckpointOpenOptions{dist});
      ASSERT_TRUE(st_model.ok()) << st_model.status().ToString();
      std::optional<ExpertMask> mask;
      if (info.mode == NodeMode::kMask) {
        auto m = ExpertMask::Load(dir + "/expert_mask.json", (*st_model)->config());
        ASSERT_TRUE(m.ok()) << m.status().ToString();
        mask = std::move(m).value();
      }
      auto gguf_model = Model::OpenGguf(dir + "/" + info.node + ".gguf");
      ASSERT_TRUE(gguf_model.ok()) << gguf_model.status().ToString();
      const auto ids = IdsFor(c, (*st_model)->config().vocab_size);
      auto want = pack_testing::RunLogits(**st_model, ids, mask ? &*mask : nullptr);
      ASSERT_TRUE(want.ok()) << want.status().ToString();
      auto got = pack_testing::RunLogits(**gguf_model, ids, nullptr);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_EQ(got->size(), want->size());
      EXPECT_EQ(0, std::memcmp(got->data(), want->data(), got->size() * sizeof(float)));
      ++compared;
    }
  }
  EXPECT_GE(compared, 14);  // 2 nodes x (5 fixture families + deepseek flat + example x2)
}

TEST(GgufNodeLogits, AGgufWithoutMoedistKeysIsRefused) {
  TempDir dir;
  const std::string path = dir.Sub("plain.gguf");
  ASSERT_TRUE(
      WriteGgufFile(path, {{"general.architecture", GgufValue::String("qwen3moe")}}, {}).ok());
  auto m = Model::OpenGguf(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(m.status().message().find("moedist.hf_config"), std::string::npos);
}

}  // namespace
}  // namespace moedist
