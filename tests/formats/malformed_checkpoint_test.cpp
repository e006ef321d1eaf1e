// One named test per defect of the malformed-checkpoint corpus (reliability.md rows 1–11):
// Checkpoint::Open and InventoryCheckpoint must refuse each with a message naming the file,
// tensor or field and the defect. The CLI leg is tests/apps/inspect_cli_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "formats/checkpoint_inventory.h"
#include "formats/safetensors_reader.h"
#include "tests/formats/malformed_checkpoint_testutil.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
using corpus::AllDefectCases;
using corpus::CheckpointDefect;
using corpus::DefectCase;
using corpus::DefectStage;
using corpus::ScopedTempDir;
using ::testing::HasSubstr;

constexpr const char* kShard1 = "model-00001-of-00004.safetensors";

// The status code a case's exit code stands for (docs/exit-codes.md via ReportError).
bool CodeMatchesExit(StatusCode code, int exit_code) {
  switch (exit_code) {
    case 3:
      return code == StatusCode::kCorruption || code == StatusCode::kUnsupported ||
             code == StatusCode::kFailedPrecondition;
    case 4: return code == StatusCode::kNotFound || code == StatusCode::kIoError;
    default: return false;
  }
}

TEST(MalformedCorpus, EveryDefectHasExactlyOneCase) {
  std::set<int> defects;
  std::set<std::string> names;
  for (const DefectCase& c : AllDefectCases()) {
    EXPECT_TRUE(defects.insert(static_cast<int>(c.defect)).second) << c.name;
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_TRUE(c.stage == DefectStage::kAccepted || !c.reason.empty()) << c.name;
  }
  // Enum values are contiguous from 0; the last one is the zero-size policy case.
  const int last = static_cast<int>(CheckpointDefect::kZeroSizeTensorSharingOffset);
  EXPECT_EQ(defects.size(), static_cast<size_t>(last + 1));
  EXPECT_EQ(*defects.rbegin(), last);
  EXPECT_GE(defects.size(), 30u);
}

// The starting points are good, so each refusal below is caused by its one defect.
TEST(MalformedCorpus, UnmodifiedFixtureCopiesAreAccepted) {
  for (const std::string family : {"qwen3_moe", "llama4", "deepseek_v3"}) {
    ScopedTempDir tmp("good-" + family);
    ASSERT_TRUE(corpus::CopyFixture(family, tmp.path()).ok());
    auto ckpt = Checkpoint::Open(tmp.path());
    ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
    auto inv = InventoryCheckpoint(**ckpt, 0);
    ASSERT_TRUE(inv.ok()) << inv.status().ToString();
    EXPECT_TRUE(inv->unclassified.empty()) << family;
    EXPECT_TRUE(inv->warnings.empty()) << family;
  }
}

class MalformedCheckpoint : public ::testing::TestWithParam<DefectCase> {};

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedCheckpoint, ::testing::ValuesIn(AllDefectCases()),
                         [](const auto& info) { return info.param.name; });

TEST_P(MalformedCheckpoint, RefusedNamingTheDefect) {
  const DefectCase& dc = GetParam();
  ScopedTempDir tmp(dc.name);
  Status written = corpus::WriteMalformedCheckpoint(dc.defect, tmp.path());
  ASSERT_TRUE(written.ok()) << written.ToString();

  auto ckpt = Checkpoint::Open(tmp.path());
  Status refusal;
  if (dc.stage == DefectStage::kOpen) {
    ASSERT_FALSE(ckpt.ok()) << "Checkpoint::Open accepted " << dc.name;
    refusal = ckpt.status();
  } else {
    ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
    auto inv = InventoryCheckpoint(**ckpt, 4);
    if (dc.stage == DefectStage::kInventory) {
      ASSERT_FALSE(inv.ok()) << "InventoryCheckpoint accepted " << dc.name;
      refusal = inv.status();
      // ClassifyCheckpoint alone refuses it too (the inventory is not the only guard).
      EXPECT_FALSE(ClassifyCheckpoint(**ckpt).ok());
    } else if (dc.stage == DefectStage::kUnclassified) {
      ASSERT_TRUE(inv.ok()) << inv.status().ToString();
      EXPECT_EQ(inv->unclassified, corpus::ExpectedNames(dc, tmp.path()));
      // Without a list to collect into, the unknown name is an error that names it.
      auto strict = ClassifyCheckpoint(**ckpt);
      ASSERT_FALSE(strict.ok());
      EXPECT_THAT(strict.status().message(), HasSubstr("is not a known tensor"));
      EXPECT_THAT(strict.status().message(), HasSubstr(dc.names.at(0)));
      return;
    } else {
      ASSERT_TRUE(inv.ok()) << inv.status().ToString();
      EXPECT_TRUE(inv->unclassified.empty());
      return;
    }
  }
  const std::string& msg = refusal.message();
  RecordProperty("message", msg);  // in --gtest_output=xml, to review the corpus's messages
  EXPECT_THAT(msg, HasSubstr(dc.reason));
  for (const std::string& name : corpus::ExpectedNames(dc, tmp.path())) {
    EXPECT_THAT(msg, HasSubstr(name));
  }
  EXPECT_TRUE(CodeMatchesExit(refusal.code(), dc.exit_code))
      << StatusCodeName(refusal.code()) << " for exit code " << dc.exit_code;
}

// Exactly one defect: the corpus directory differs from its fixture in one file, or in one
// shard plus the index when a tensor is added or removed consistently.
TEST_P(MalformedCheckpoint, ChangesOnlyTheFilesOfItsDefect) {
  const DefectCase& dc = GetParam();
  ScopedTempDir tmp(dc.name);
  ASSERT_TRUE(corpus::WriteMalformedCheckpoint(dc.defect, tmp.path()).ok());
  ScopedTempDir good("good-" + dc.name);
  ASSERT_TRUE(corpus::CopyFixture(dc.family, good.path()).ok());
  int changed = 0;
  for (const auto& entry : fs::directory_iterator(good.path())) {
    const fs::path other = fs::path(tmp.path()) / entry.path().filename();
    if (!fs::exists(other)) {
      ++changed;
      continue;
    }
    auto a = corpus::ReadFileBytes(entry.path().string());
    auto b = corpus::ReadFileBytes(other.string());
    ASSERT_TRUE(a.ok() && b.ok());
    if (*a != *b) ++changed;
  }
  EXPECT_GE(changed, 1) << dc.name << " wrote an unmodified fixture";
  EXPECT_LE(changed, 2) << dc.name;
}

// Row 8's policy: a zero-size tensor may share its offset with its neighbours (here the end of
// embed_tokens and the start of experts.0.down_proj); its view is empty, and the neighbours'
// bytes are exactly the fixture's.
TEST(MalformedCorpus, ZeroSizeTensorSharingAnOffsetIsAcceptedWithAnEmptyView) {
  ScopedTempDir tmp("zero-size");
  ASSERT_TRUE(
      corpus::WriteMalformedCheckpoint(CheckpointDefect::kZeroSizeTensorSharingOffset, tmp.path())
          .ok());
  auto ckpt = Checkpoint::Open(tmp.path());
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  const CheckpointTensor* zero = (*ckpt)->Find("model.layers.0.self_attn.k_proj.bias");
  const CheckpointTensor* before = (*ckpt)->Find("model.embed_tokens.weight");
  const CheckpointTensor* after = (*ckpt)->Find("model.layers.0.mlp.experts.0.down_proj.weight");
  ASSERT_TRUE(zero && before && after);
  EXPECT_EQ(zero->num_bytes(), 0u);
  EXPECT_TRUE(zero->bytes().empty());
  EXPECT_EQ(zero->info->data_begin, before->info->data_end);
  EXPECT_EQ(zero->info->data_begin, after->info->data_begin);

  auto fixture = SafetensorsFile::Open(corpus::FixtureDir("qwen3_moe") + "/" + kShard1);
  ASSERT_TRUE(fixture.ok());
  for (const CheckpointTensor* t : {before, after}) {
    auto want = (*fixture)->TensorBytes(*(*fixture)->Find(t->name));
    auto got = t->bytes();
    EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin(), got.end())) << t->name;
  }
  auto inv = InventoryCheckpoint(**ckpt, 0);
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_TRUE(inv->unclassified.empty());
}

// The policy's limit: a zero-size tensor inside another tensor's bytes, or with a non-empty
// span, is refused (no aliasing of real data).
TEST(MalformedCorpus, ZeroSizeTensorInsideANeighbourIsRefused) {
  struct Case {
    std::string offsets;
    std::string reason;
  };
  for (const Case& c : {Case{"[100,100]", "overlaps the previous tensor"},
                        Case{"[32768,32770]", "span 2 bytes but shape and dtype BF16 need 0"}}) {
    ScopedTempDir tmp("zero-inside");
    ASSERT_TRUE(corpus::CopyFixture("qwen3_moe", tmp.path()).ok());
    const std::string shard = tmp.path() + "/" + kShard1;
    ASSERT_TRUE(corpus::EditShardHeaderText(shard, [&](std::string& h) {
                  h.insert(1, "\"zero\":{\"dtype\":\"BF16\",\"shape\":[0,64],\"data_offsets\":" +
                                  c.offsets + "},");
                  return Status::Ok();
                }).ok());
    auto file = SafetensorsFile::Open(shard);
    ASSERT_FALSE(file.ok()) << c.offsets;
    EXPECT_THAT(file.status().message(), HasSubstr(c.reason));
    EXPECT_THAT(file.status().message(), HasSubstr("\"zero\""));
  }
}

}  // namespace
}  // namespace moedist
