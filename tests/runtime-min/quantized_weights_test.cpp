// Loading block-quantized weights (docs/formats/bundle.md, "Quantized tensors"): the hf-tiny
// Qwen3-MoE fixture rewritten with some weights as U8 blocks + moedist.quant metadata loads and
// runs; each defect of the metadata or the tensor is refused with an error that names the
// tensor and the shard file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "formats/hf_checkpoint.h"
#include "formats/safetensors_writer.h"
#include "quant/decode_f32.h"
#include "quant/quantize.h"
#include "runtime-min/forward.h"
#include "runtime-min/stored_tensor.h"
#include "tests/test_dirs.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

std::string Fixture() {
  return std::string(moedist::test_dirs::FixtureRoot()) + "/fixtures/hf-tiny/qwen3_moe";
}

class ScratchDir {
 public:
  ScratchDir() {
    std::string t = (fs::temp_directory_path() / "moedist-qw-XXXXXX").string();
    path_ = ::mkdtemp(t.data()) ? t : "";
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// How the one tensor under test is written.
struct Variant {
  std::string name;
  std::string metadata;     // the moedist.quant value; "" = no entry
  bool keep_plain = false;  // store the original BF16/F32 bytes (with `metadata`, if any)
  int64_t drop_bytes = 0;   // U8 tensor shorter by this much
  std::string want;         // substring the error must contain (besides tensor and shard)
};

constexpr const char* kTarget = "model.layers.0.self_attn.q_proj.weight";  // [128, 64]
constexpr const char* kExpert = "model.layers.1.mlp.experts.3.down_proj.weight";

// The fixture as one model.safetensors in `dir`: kTarget per `v` (q8_0 blocks by default), and
// kExpert as q4_0 blocks with correct metadata in every variant.
void WriteVariant(const std::string& dir, const Variant& v) {
  auto ckpt = Checkpoint::Open(Fixture());
  ASSERT_TRUE(ckpt.ok()) << ckpt.status().ToString();
  fs::create_directories(dir);
  fs::copy_file(Fixture() + "/config.json", dir + "/config.json");
  std::vector<SafetensorsSource> sources;
  std::map<std::string, std::string> metadata = {{"format", "pt"}};
  static std::vector<std::vector<uint8_t>> storage;  // outlives the write
  storage.clear();
  storage.reserve(2);
  auto quantize = [&](const CheckpointTensor& t, QuantType type) {
    std::vector<float> values(t.info->num_elements());
    EXPECT_TRUE(DecodeToF32(t.dtype(), t.bytes(), values).ok());
    const uint64_t len = t.shape().back(), rows = values.size() / len;
    std::vector<uint8_t> bytes(*QuantTensorBytes(type, rows, len));
    EXPECT_TRUE(QuantizeRows(type, values, len, bytes).ok());
    return bytes;
  };
  for (const CheckpointTensor& t : (*ckpt)->tensors()) {
    if (t.name == kExpert) {
      storage.push_back(quantize(t, QuantType::kQ4_0));
      sources.push_back(
          SourceFromBytes(t.name, DType::kU8, {storage.back().size()}, storage.back()));
      metadata["moedist.quant." + t.name] =
          R"({"shape":[64,32],"source_dtype":"F32","type":"q4_0"})";
    } else if (t.name == kTarget && !v.keep_plain) {
      storage.push_back(quantize(t, QuantType::kQ8_0));
      storage.back().resize(storage.back().size() - v.drop_bytes);
      sources.push_back(
          SourceFromBytes(t.name, DType::kU8, {storage.back().size()}, storage.back()));
    } else {
      sources.push_back(SourceFromBytes(t.name, t.dtype(), t.shape(), t.bytes()));
    }
  }
  if (!v.metadata.empty()) metadata[std::string("moedist.quant.") + kTarget] = v.metadata;
  ASSERT_TRUE(WriteSafetensorsFile(dir + "/model.safetensors", std::move(sources), metadata).ok());
}

const char* kGood = R"({"shape":[128,64],"source_dtype":"F32","type":"q8_0"})";

TEST(QuantizedWeights, QuantizedTensorsLoadAndRunCloseToTheOriginal) {
  ScratchDir tmp;
  WriteVariant(tmp.path() + "/q", {"good", kGood});
  auto full = Model::Open(Fixture());
  auto quant = Model::Open(tmp.path() + "/q");
  ASSERT_TRUE(full.ok() && quant.ok()) << quant.status().ToString();
  EXPECT_EQ((*quant)->weights().layers[0].attn.q.w.type, QuantType::kQ8_0);
  EXPECT_EQ((*quant)->weights().layers[1].moe.experts[3].down.type, QuantType::kQ4_0);
  const std::vector<int32_t> ids = {1, 17, 42, 99, 3, 250, 7, 64};
  std::vector<float> a, b;
  Sequence sa(**full), sb(**quant);
  ASSERT_TRUE(Forward(**full, sa, ids, {.all_logits = true}, &a).ok());
  ASSERT_TRUE(Forward(**quant, sb, ids, {.all_logits = true}, &b).ok());
  ASSERT_EQ(a.size(), b.size());
  double diff = 0, ref = 0;
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    ref += double(a[i]) * a[i];
    differs |= a[i] != b[i];
  }
  EXPECT_TRUE(differs) << "the quantized weights were not used";
  // Two of ~40 matrices quantized (q8_0 rel. RMSE 0.6%, q4_0 9.5%, quant.md): the logits move
  // by a small fraction of their size.
  EXPECT_LT(std::sqrt(diff / ref), 0.05);
}

class QuantMetadataDefectTest : public ::testing::TestWithParam<Variant> {};

TEST_P(QuantMetadataDefectTest, RefusedNamingTensorAndShard) {
  const Variant& v = GetParam();
  ScratchDir tmp;
  const std::string dir = tmp.path() + "/" + v.name;
  WriteVariant(dir, v);
  auto model = Model::Open(dir);
  ASSERT_FALSE(model.ok()) << v.name;
  const std::string msg = model.status().message();
  EXPECT_NE(msg.find(kTarget), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find(v.want), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    Defects, QuantMetadataDefectTest,
    ::testing::Values(
        Variant{"missing", "", false, 0, "U8 with no \"moedist.quant."},
        Variant{"not_json", "{\"shape\":[128,64],", false, 0, "moedist.quant metadata"},
        Variant{"not_object", "[1,2]", false, 0, "not a JSON object"},
        Variant{"unknown_type", R"({"shape":[128,64],"type":"q5_9"})", false, 0, "q5_9"},
        Variant{"no_type", R"({"shape":[128,64]})", false, 0, "\"type\""},
        Variant{"no_shape", R"({"type":"q8_0"})", false, 0, "\"shape\""},
        Variant{"negative_dim", R"({"shape":[128,-64],"type":"q8_0"})", false, 0,
                "non-negative integer"},
        Variant{"unknown_field", R"({"shape":[128,64],"type":"q8_0","scale":2})", false, 0,
                "unknown field \"scale\""},
        Variant{"wrong_bytes", kGood, false, 34, "bytes"},
        Variant{"wrong_type", R"({"shape":[128,64],"type":"q4_0"})", false, 0, "q4_0"},
        Variant{"row_not_block", R"({"shape":[256,32],"type":"q4_k"})", false, 0,
                "multiple of the block"},
        Variant{"logical_shape", R"({"shape":[64,128],"type":"q8_0"})", false, 0,
                "expected [128, 64]"},
        Variant{"metadata_on_float", kGood, true, 0, "expected U8 [bytes]"}),
    [](const auto& info) { return info.param.name; });

TEST(QuantizedWeights, ParseQuantMetadataReadsTypeAndShape) {
  auto m = ParseQuantMetadata(R"({"shape":[4,8,256],"source_dtype":"BF16","type":"Q4_K"})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->type, QuantType::kQ4_K);
  EXPECT_EQ(m->shape, (std::vector<uint64_t>{4, 8, 256}));
  EXPECT_FALSE(ParseQuantMetadata(R"({"shape":[],"type":"q8_0"})").ok());
  EXPECT_FALSE(ParseQuantMetadata(R"({"shape":[1],"type":"q8_0","type":"q8_0"})").ok());
}

}  // namespace
}  // namespace moedist
