// A NaN or Inf in a weight stops the forward pass with an error naming the layer, the block and
// the tensor; values are poked into a writable copy of a transformers-written fixture.
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include <gtest/gtest.h>

#include "runtime-min/forward.h"
#include "tests/formats/malformed_checkpoint_testutil.h"

namespace moedist {
namespace {

using corpus::CopyFixture;
using corpus::ScopedTempDir;

// Overwrites element `index` of F32 tensor `name` in the checkpoint at `dir` with `value`.
void PokeF32(const std::string& dir, const std::string& name, uint64_t index, float value) {
  Result<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(dir);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  const CheckpointTensor* t = (*ckpt)->Find(name);
  ASSERT_NE(t, nullptr) << name;
  ASSERT_EQ(t->info->dtype, DType::kF32);
  const uint64_t offset = t->shard->data_offset() + t->info->data_begin + index * 4;
  const std::string path = t->shard->path();
  ckpt->reset();
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << path;
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(reinterpret_cast<const char*>(&value), sizeof value);
  ASSERT_TRUE(f.good());
}

Status RunPrompt(const std::string& dir) {
  Result<std::unique_ptr<Model>> model = Model::Open(dir);
  if (!model.ok()) return model.status();
  Sequence seq(**model);
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5};
  std::vector<float> logits;
  return Forward(**model, seq, tokens, ForwardOptions{}, &logits);
}

TEST(NonFinite, NanInAttentionWeightNamesLayerBlockAndTensor) {
  ScopedTempDir tmp("nonfinite-attn");
  ASSERT_TRUE(CopyFixture("mixtral", tmp.path()).ok());
  ASSERT_TRUE(RunPrompt(tmp.path()).ok());
  const std::string name = "model.layers.1.self_attn.q_proj.weight";
  PokeF32(tmp.path(), name, 7, std::numeric_limits<float>::quiet_NaN());
  Status s = RunPrompt(tmp.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("layer 1 attention block"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(name), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("element 7"), std::string::npos) << s.message();
}

TEST(NonFinite, InfInEmbeddingRowIsCaughtBeforeTheLayers) {
  ScopedTempDir tmp("nonfinite-embed");
  ASSERT_TRUE(CopyFixture("qwen2_moe", tmp.path()).ok());
  Result<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(tmp.path());
  ASSERT_TRUE(ckpt.ok());
  const uint64_t hidden = static_cast<uint64_t>((*ckpt)->config().hidden_size);
  ckpt->reset();
  // Token 3's row, element 2.
  PokeF32(tmp.path(), "model.embed_tokens.weight", 3 * hidden + 2,
          std::numeric_limits<float>::infinity());
  Status s = RunPrompt(tmp.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("token embedding"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("at token 2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("model.embed_tokens.weight"), std::string::npos) << s.message();
}

TEST(NonFinite, NanInOneExpertIsNamedWhenThatExpertIsChosen) {
  ScopedTempDir tmp("nonfinite-expert");
  ASSERT_TRUE(CopyFixture("olmoe", tmp.path()).ok());
  // Poison every expert's down projection of layer 0, so whichever is chosen trips the check.
  Result<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(tmp.path());
  ASSERT_TRUE(ckpt.ok());
  const int experts = (*ckpt)->config().routing.num_experts;
  ckpt->reset();
  for (int e = 0; e < experts; ++e) {
    PokeF32(tmp.path(), fmt::format("model.layers.0.mlp.experts.{}.down_proj.weight", e), 0,
            std::numeric_limits<float>::quiet_NaN());
  }
  Status s = RunPrompt(tmp.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("layer 0 feed-forward block"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("down_proj.weight"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace moedist
