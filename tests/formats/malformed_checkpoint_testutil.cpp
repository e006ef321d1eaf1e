#include "tests/formats/malformed_checkpoint_testutil.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/checked_math.h"
#include "formats/safetensors_reader.h"
#include "formats/safetensors_writer.h"
#include "tests/test_dirs.h"

namespace moedist::corpus {
namespace {

namespace fs = std::filesystem;

// The fixture files the defects touch. qwen3_moe: embed_tokens and layer 0's first experts in
// shard 1 (embed [0, 32768), experts.0.down_proj [32768, 36864), gate_proj [36864, 40960),
// up_proj [40960, 45056), all BF16), model.norm in shard 3, lm_head alone in shard 4.
constexpr const char* kShard1 = "model-00001-of-00004.safetensors";
constexpr const char* kShard3 = "model-00003-of-00004.safetensors";
constexpr const char* kShard4 = "model-00004-of-00004.safetensors";
constexpr const char* kIndex = "model.safetensors.index.json";
constexpr const char* kConfig = "config.json";
constexpr const char* kEmbed = "model.embed_tokens.weight";
constexpr const char* kDown0 = "model.layers.0.mlp.experts.0.down_proj.weight";
constexpr const char* kGate0 = "model.layers.0.mlp.experts.0.gate_proj.weight";
constexpr const char* kUp0 = "model.layers.0.mlp.experts.0.up_proj.weight";

std::string Join(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

uint64_t ReadLe64(const std::vector<uint8_t>& b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

void PutLe64(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Replaces the first occurrence of `from`; a fixture that no longer contains it is an error, so
// the generator never silently writes a checkpoint without its defect.
Status ReplaceOnce(std::string& text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  if (at == std::string::npos) {
    return Status::Internal("corpus: fixture text has no \"{}\" to replace", from);
  }
  text.replace(at, from.size(), to);
  return Status::Ok();
}

// The text `"name":{...}` of one tensor entry in a compact header (entries hold no objects).
Result<std::string> EntryText(const std::string& header, const std::string& name) {
  const std::string key = "\"" + name + "\":{";
  size_t begin = header.find(key);
  if (begin == std::string::npos) return Status::Internal("corpus: no entry for {}", name);
  size_t end = header.find('}', begin);
  return header.substr(begin, end + 1 - begin);
}

// Replaces `from` with `to` inside the entry of tensor `name` only.
Status EditEntry(std::string& header, const std::string& name, const std::string& from,
                 const std::string& to) {
  ASSIGN_OR_RETURN(std::string entry, EntryText(header, name));
  std::string edited = entry;
  RETURN_IF_ERROR(ReplaceOnce(edited, from, to));
  return ReplaceOnce(header, entry, edited);
}

Result<nlohmann::ordered_json> ReadJsonFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  try {
    return nlohmann::ordered_json::parse(bytes.begin(), bytes.end());
  } catch (const std::exception& e) {
    return Status::Internal("corpus: {}: {}", path, e.what());
  }
}

Status WriteText(const std::string& path, const std::string& text) {
  return WriteFileBytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

Status EditJsonFile(const std::string& path,
                    const std::function<Status(nlohmann::ordered_json&)>& edit) {
  ASSIGN_OR_RETURN(nlohmann::ordered_json j, ReadJsonFile(path));
  RETURN_IF_ERROR(edit(j));
  return WriteText(path, j.dump(2) + "\n");
}

Status EditIndex(const std::string& dir,
                 const std::function<void(nlohmann::ordered_json& weight_map)>& edit) {
  return EditJsonFile(Join(dir, kIndex), [&](nlohmann::ordered_json& j) {
    edit(j["weight_map"]);
    return Status::Ok();
  });
}

Status EditConfig(const std::string& dir, const std::function<void(nlohmann::ordered_json&)>& f) {
  return EditJsonFile(Join(dir, kConfig), [&](nlohmann::ordered_json& j) {
    f(j);
    return Status::Ok();
  });
}

// A tensor held in memory, for rewriting a shard through the real writer.
struct OwnedTensor {
  std::string name;
  DType dtype;
  std::vector<uint64_t> shape;
  std::vector<uint8_t> bytes;
};

Result<uint64_t> ByteSize(DType dtype, const std::vector<uint64_t>& shape) {
  auto elements = CheckedProduct(shape);
  auto bytes = elements ? DTypeStorageBytes(dtype, *elements) : std::nullopt;
  if (!bytes) return Status::Internal("corpus: shape too large");
  return *bytes;
}

Result<std::vector<OwnedTensor>> ReadShardTensors(const std::string& path,
                                                  std::map<std::string, std::string>* metadata) {
  ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(path));
  std::vector<OwnedTensor> out;
  for (const SafetensorsTensor& t : file->tensors()) {
    auto b = file->TensorBytes(t);
    out.push_back({t.name, t.dtype, t.shape, std::vector<uint8_t>(b.begin(), b.end())});
  }
  if (metadata) *metadata = file->metadata();
  return out;
}

// Reads a shard, lets `edit` change its tensors, writes it back with the real writer.
Status RewriteShard(const std::string& path,
                    const std::function<Status(std::vector<OwnedTensor>&)>& edit) {
  std::map<std::string, std::string> metadata;
  ASSIGN_OR_RETURN(std::vector<OwnedTensor> tensors, ReadShardTensors(path, &metadata));
  RETURN_IF_ERROR(edit(tensors));
  std::vector<SafetensorsSource> sources;
  for (const OwnedTensor& t : tensors) {
    sources.push_back(SourceFromBytes(t.name, t.dtype, t.shape, t.bytes));
  }
  return WriteSafetensorsFile(path, std::move(sources), metadata);
}

Result<std::string> ShardOf(const std::string& dir, const std::string& tensor) {
  ASSIGN_OR_RETURN(nlohmann::ordered_json index, ReadJsonFile(Join(dir, kIndex)));
  const auto& wm = index["weight_map"];
  if (!wm.contains(tensor)) return Status::Internal("corpus: {} not in the index", tensor);
  return wm[tensor].get<std::string>();
}

// Adds a zero-filled tensor to `shard` and to the index, consistently.
Status AddTensor(const std::string& dir, const std::string& shard, const std::string& name,
                 DType dtype, std::vector<uint64_t> shape) {
  ASSIGN_OR_RETURN(uint64_t size, ByteSize(dtype, shape));
  RETURN_IF_ERROR(RewriteShard(Join(dir, shard), [&](std::vector<OwnedTensor>& ts) {
    ts.push_back({name, dtype, shape, std::vector<uint8_t>(size, 0)});
    return Status::Ok();
  }));
  return EditIndex(dir, [&](nlohmann::ordered_json& wm) { wm[name] = shard; });
}

// Removes a tensor from its shard and from the index, consistently.
Status RemoveTensor(const std::string& dir, const std::string& name) {
  ASSIGN_OR_RETURN(std::string shard, ShardOf(dir, name));
  RETURN_IF_ERROR(RewriteShard(Join(dir, shard), [&](std::vector<OwnedTensor>& ts) {
    auto it = std::find_if(ts.begin(), ts.end(), [&](const auto& t) { return t.name == name; });
    if (it == ts.end()) return Status::Internal("corpus: {} not in {}", name, shard);
    ts.erase(it);
    return Status::Ok();
  }));
  return EditIndex(dir, [&](nlohmann::ordered_json& wm) { wm.erase(name); });
}

// Gives a tensor a new shape (bytes truncated or zero-extended to match); the index is unchanged.
Status ReshapeTensor(const std::string& dir, const std::string& name, std::vector<uint64_t> shape) {
  ASSIGN_OR_RETURN(std::string shard, ShardOf(dir, name));
  return RewriteShard(Join(dir, shard), [&](std::vector<OwnedTensor>& ts) {
    for (OwnedTensor& t : ts) {
      if (t.name != name) continue;
      ASSIGN_OR_RETURN(uint64_t size, ByteSize(t.dtype, shape));
      t.shape = shape;
      t.bytes.resize(size, 0);
      return Status::Ok();
    }
    return Status::Internal("corpus: {} not in {}", name, shard);
  });
}

// Copies tensor `name` from `from_shard` into `to_shard` (the index is unchanged).
Status DuplicateTensorInto(const std::string& dir, const std::string& name,
                           const std::string& from_shard, const std::string& to_shard) {
  ASSIGN_OR_RETURN(std::vector<OwnedTensor> from, ReadShardTensors(Join(dir, from_shard), nullptr));
  auto it = std::find_if(from.begin(), from.end(), [&](const auto& t) { return t.name == name; });
  if (it == from.end()) return Status::Internal("corpus: {} not in {}", name, from_shard);
  OwnedTensor copy = *it;
  return RewriteShard(Join(dir, to_shard), [&](std::vector<OwnedTensor>& ts) {
    ts.push_back(copy);
    return Status::Ok();
  });
}

// Sets the 8-byte length prefix of a shard, leaving every other byte as it was.
Status SetHeaderLength(const std::string& path, uint64_t n) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  if (bytes.size() < 8) return Status::Internal("corpus: {} too short", path);
  PutLe64(n, bytes.data());
  return WriteFileBytes(path, bytes);
}

// A tiny gpt_oss config whose two expert-count spellings disagree.
std::string GptOssConfig(int num_local_experts, int num_experts) {
  nlohmann::ordered_json j = {
      {"architectures", {"GptOssForCausalLM"}},
      {"model_type", "gpt_oss"},
      {"hidden_size", 64},
      {"intermediate_size", 32},
      {"num_hidden_layers", 2},
      {"num_attention_heads", 4},
      {"num_key_value_heads", 2},
      {"head_dim", 16},
      {"vocab_size", 256},
      {"num_local_experts", num_local_experts},
      {"num_experts", num_experts},
      {"num_experts_per_tok", 2},
      {"experts_per_token", 2},
      {"sliding_window", 128},
      {"rms_norm_eps", 1e-5},
      {"torch_dtype", "bfloat16"},
  };
  return j.dump(2) + "\n";
}

Status ApplySafetensorsDefect(CheckpointDefect d, const std::string& dir) {
  using D = CheckpointDefect;
  const std::string s1 = Join(dir, kShard1);
  auto edit_text = [&](const std::function<Status(std::string&)>& f) {
    return EditShardHeaderText(s1, f);
  };
  switch (d) {
    case D::kFileShorterThan8Bytes: return WriteFileBytes(s1, {0x10, 0, 0, 0, 0});
    case D::kHeaderLengthOverCap: {
      // 8 + N + 8 bytes, so N fits in the file and only the 100 MB cap can refuse it. The
      // file is sparse: it costs no disk.
      const uint64_t n = 100'000'001;
      std::vector<uint8_t> head(9);
      PutLe64(n, head.data());
      head[8] = '{';
      RETURN_IF_ERROR(WriteFileBytes(s1, head));
      std::error_code ec;
      fs::resize_file(s1, 8 + n + 8, ec);
      if (ec) return Status::IoError("corpus: resize {}: {}", s1, ec.message());
      return Status::Ok();
    }
    case D::kHeaderLengthBeyondFile: {
      std::error_code ec;
      const uint64_t size = fs::file_size(s1, ec);
      if (ec) return Status::IoError("corpus: size of {}: {}", s1, ec.message());
      return SetHeaderLength(s1, size - 8 + 1);
    }
    case D::kHeaderLengthOverflow: return SetHeaderLength(s1, ~uint64_t{0});
    case D::kHeaderNotStartingWithBrace:
      return edit_text([](std::string& h) {
        h.insert(0, " ");
        return Status::Ok();
      });
    case D::kHeaderIsJsonArray:
      return edit_text([](std::string& h) {
        h = "[" + h + "]";
        return Status::Ok();
      });
    case D::kHeaderNotUtf8:
      return edit_text([](std::string& h) {
        return ReplaceOnce(h, "\"format\":\"pt\"", "\"format\":\"p\xff\"");
      });
    case D::kHeaderNotJson:
      return edit_text(
          [](std::string& h) { return ReplaceOnce(h, "\"format\":\"pt\"", "\"format\":pt"); });
    case D::kTensorEntryNotObject:
      return edit_text([](std::string& h) -> Status {
        ASSIGN_OR_RETURN(std::string entry, EntryText(h, kEmbed));
        return ReplaceOnce(h, entry, fmt::format("\"{}\":[256,64]", kEmbed));
      });
    case D::kUnknownDtype:
      return edit_text([](std::string& h) {
        return EditEntry(h, kEmbed, "\"dtype\":\"BF16\"", "\"dtype\":\"BF17\"");
      });
    case D::kMetadataNotObject:
      return edit_text([](std::string& h) {
        return ReplaceOnce(h, "\"__metadata__\":{\"format\":\"pt\"}", "\"__metadata__\":\"pt\"");
      });
    case D::kNonStringMetadataValue:
      return edit_text(
          [](std::string& h) { return ReplaceOnce(h, "\"format\":\"pt\"", "\"format\":1"); });
    case D::kDuplicateTensorName:
      return edit_text([](std::string& h) -> Status {
        ASSIGN_OR_RETURN(std::string entry, EntryText(h, kEmbed));
        return ReplaceOnce(h, entry, entry + "," + entry);
      });
    case D::kExtraFieldInTensorEntry:
      return edit_text([](std::string& h) {
        return EditEntry(h, kEmbed, "\"dtype\":\"BF16\"", "\"dtype\":\"BF16\",\"crc32\":0");
      });
    case D::kElementCountOverflow:
      return edit_text([](std::string& h) {
        return EditEntry(h, kEmbed, "[256,64]", "[4294967296,4294967296]");
      });
    case D::kByteCountOverflowWraps:
      // (2^63 + 16384) BF16 elements need 2^64 + 32768 bytes, which wraps to 32768: exactly
      // the span on disk (the published safetensors-cpp bug).
      return edit_text(
          [](std::string& h) { return EditEntry(h, kEmbed, "[256,64]", "[9223372036854792192]"); });
    case D::kNegativeShape:
      return edit_text(
          [](std::string& h) { return EditEntry(h, kEmbed, "[256,64]", "[-256,64]"); });
    case D::kNonIntegerShape:
      return edit_text(
          [](std::string& h) { return EditEntry(h, kEmbed, "[256,64]", "[256.5,64]"); });
    case D::kOffsetsEndBeforeBegin:
      return edit_text([](std::string& h) {
        return EditEntry(h, kEmbed, "\"data_offsets\":[0,32768]", "\"data_offsets\":[32768,0]");
      });
    case D::kGapBetweenTensors:
      return EditShardHeaderJson(s1, [](nlohmann::ordered_json& h) {
        h.erase(kDown0);
        return Status::Ok();
      });
    case D::kOverlappingTensors:
      return EditShardHeaderJson(s1, [](nlohmann::ordered_json& h) {
        h[kUp0]["data_offsets"] = h[kGate0]["data_offsets"];
        return Status::Ok();
      });
    case D::kSpanDisagreesWithShape:
      return edit_text([](std::string& h) { return EditEntry(h, kGate0, "[32,64]", "[32,63]"); });
    case D::kTrailingBytes: {
      ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(s1));
      bytes.insert(bytes.end(), 16, 0);
      return WriteFileBytes(s1, bytes);
    }
    case D::kTruncatedData: {
      ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(s1));
      bytes.resize(bytes.size() - 100);
      return WriteFileBytes(s1, bytes);
    }
    default: return Status::Internal("corpus: not a safetensors defect");
  }
}

Status ApplyCheckpointDefect(CheckpointDefect d, const std::string& dir) {
  using D = CheckpointDefect;
  std::error_code ec;
  switch (d) {
    // Index and shard set.
    case D::kIndexNamesMissingShard:
      if (!fs::remove(Join(dir, kShard4), ec)) return Status::IoError("corpus: remove shard 4");
      return Status::Ok();
    case D::kIndexTensorAbsentFromShard:
      return EditIndex(dir, [](nlohmann::ordered_json& wm) { wm["lm_head.weight"] = kShard1; });
    case D::kTensorInTwoShards:
      return DuplicateTensorInto(dir, "model.norm.weight", kShard3, kShard4);
    case D::kShardTensorNotInIndex:
      return EditIndex(dir, [](nlohmann::ordered_json& wm) { wm.erase(kDown0); });
    case D::kIndexShardPathTraversal:
      return EditIndex(dir, [](nlohmann::ordered_json& wm) {
        wm["lm_head.weight"] = std::string("../") + kShard4;
      });
    case D::kIndexShardAbsolutePath: {
      const std::string absolute = fs::absolute(Join(dir, kShard4)).string();
      return EditIndex(dir, [&](nlohmann::ordered_json& wm) { wm["lm_head.weight"] = absolute; });
    }
    case D::kIndexNotJson: return WriteText(Join(dir, kIndex), "{\"weight_map\": {\"a\": ");
    case D::kIndexMissingWeightMap:
      return WriteText(Join(dir, kIndex), "{\"metadata\": {\"total_size\": 363392}}\n");
    // config.json.
    case D::kConfigMissing:
      if (!fs::remove(Join(dir, kConfig), ec)) return Status::IoError("corpus: remove config");
      return Status::Ok();
    case D::kConfigNotJson:
      return WriteText(Join(dir, kConfig), "{\"model_type\": \"qwen3_moe\",}\n");
    case D::kConfigMissingNumExperts:
      return EditConfig(dir, [](nlohmann::ordered_json& c) { c.erase("num_experts"); });
    case D::kConfigNumExpertsNotInteger:
      return EditConfig(dir, [](nlohmann::ordered_json& c) { c["num_experts"] = "8"; });
    case D::kConfigContradictoryExpertCounts:
      return WriteText(Join(dir, kConfig), GptOssConfig(8, 16));
    case D::kConfigTopKExceedsExperts:
      return EditConfig(dir, [](nlohmann::ordered_json& c) { c["num_experts_per_tok"] = 9; });
    case D::kConfigHeadsNotMultipleOfKvHeads:
      return EditConfig(dir, [](nlohmann::ordered_json& c) { c["num_key_value_heads"] = 3; });
    case D::kConfigUnknownModelType:
      return EditConfig(dir, [](nlohmann::ordered_json& c) { c["model_type"] = "qwen9_moe"; });
    // Tensors against the config.
    case D::kUnknownTensorName:
      return AddTensor(dir, kShard4, "model.layers.0.mlp.mystery.weight", DType::kBF16, {64});
    case D::kExpertIndexOutOfRange:
      return AddTensor(dir, kShard4, "model.layers.0.mlp.experts.8.gate_proj.weight", DType::kBF16,
                       {32, 64});
    case D::kLayerIndexOutOfRange:
      return AddTensor(dir, kShard4, "model.layers.2.input_layernorm.weight", DType::kBF16, {64});
    case D::kRouterShapeMismatch:
      return ReshapeTensor(dir, "model.layers.0.mlp.gate.weight", {9, 64});
    case D::kExpertShapeMismatch: return ReshapeTensor(dir, kGate0, {48, 64});
    case D::kExpertProjectionMissing:
      return RemoveTensor(dir, "model.layers.1.mlp.experts.3.up_proj.weight");
    case D::kLlama4PackedExpertAxisMismatch:
      return ReshapeTensor(dir, "model.layers.0.feed_forward.experts.gate_up_proj", {7, 64, 64});
    case D::kLlama4PackedDownMissing:
      return RemoveTensor(dir, "model.layers.2.feed_forward.experts.down_proj");
    case D::kDeepseekRouterInDenseLayer:
      return AddTensor(dir, kShard4, "model.layers.0.mlp.gate.weight", DType::kF32, {16, 64});
    case D::kDeepseekCorrectionBiasShape:
      return ReshapeTensor(dir, "model.layers.1.mlp.gate.e_score_correction_bias", {17});
    case D::kZeroSizeTensorSharingOffset: {
      // A zero-size bias at offset 32768: where embed_tokens ends and experts.0.down_proj
      // begins. Added to the index too, so only the zero-size policy is under test.
      const std::string name = "model.layers.0.self_attn.k_proj.bias";
      RETURN_IF_ERROR(EditShardHeaderText(Join(dir, kShard1), [&](std::string& h) -> Status {
        ASSIGN_OR_RETURN(std::string entry, EntryText(h, kEmbed));
        return ReplaceOnce(h, entry,
                           entry + fmt::format(",\"{}\":{{\"dtype\":\"BF16\",\"shape\":[0],"
                                               "\"data_offsets\":[32768,32768]}}",
                                               name));
      }));
      return EditIndex(dir, [&](nlohmann::ordered_json& wm) { wm[name] = kShard1; });
    }
    default: return ApplySafetensorsDefect(d, dir);
  }
}

std::vector<DefectCase> BuildCases() {
  using D = CheckpointDefect;
  using S = DefectStage;
  const std::string q = "qwen3_moe";
  const std::string s1 = kShard1, s3 = kShard3, s4 = kShard4, idx = kIndex;
  return {
      {D::kFileShorterThan8Bytes, "FileShorterThan8Bytes", q, S::kOpen, "file is 5 bytes", {s1}, 3},
      {D::kHeaderLengthOverCap,
       "HeaderLengthOverCap",
       q,
       S::kOpen,
       "header length 100000001 exceeds the 100000000 byte limit",
       {s1},
       3},
      {D::kHeaderLengthBeyondFile,
       "HeaderLengthBeyondFile",
       q,
       S::kOpen,
       "bytes after the length prefix",
       {s1},
       3},
      {D::kHeaderLengthOverflow,
       "HeaderLengthOverflow",
       q,
       S::kOpen,
       "header length 18446744073709551615",
       {s1},
       3},
      {D::kHeaderNotStartingWithBrace,
       "HeaderNotStartingWithBrace",
       q,
       S::kOpen,
       "does not start with '{'",
       {s1},
       3},
      {D::kHeaderIsJsonArray, "HeaderIsJsonArray", q, S::kOpen, "does not start with '{'", {s1}, 3},
      {D::kHeaderNotUtf8, "HeaderNotUtf8", q, S::kOpen, "UTF-8", {s1}, 3},
      {D::kHeaderNotJson, "HeaderNotJson", q, S::kOpen, "invalid JSON", {s1}, 3},
      {D::kTensorEntryNotObject,
       "TensorEntryNotObject",
       q,
       S::kOpen,
       "header entry is array, expected an object",
       {s1, kEmbed},
       3},
      {D::kUnknownDtype, "UnknownDtype", q, S::kOpen, "unknown dtype \"BF17\"", {s1, kEmbed}, 3},
      {D::kMetadataNotObject,
       "MetadataNotObject",
       q,
       S::kOpen,
       "__metadata__ is not an object",
       {s1},
       3},
      {D::kNonStringMetadataValue,
       "NonStringMetadataValue",
       q,
       S::kOpen,
       "__metadata__[\"format\"] is number, expected a string",
       {s1},
       3},
      {D::kDuplicateTensorName,
       "DuplicateTensorName",
       q,
       S::kOpen,
       "duplicate JSON key \"model.embed_tokens.weight\"",
       {s1},
       3},
      {D::kExtraFieldInTensorEntry,
       "ExtraFieldInTensorEntry",
       q,
       S::kOpen,
       "unexpected field \"crc32\"",
       {s1, kEmbed},
       3},
      {D::kElementCountOverflow,
       "ElementCountOverflow",
       q,
       S::kOpen,
       "element count overflows 64 bits",
       {s1, kEmbed},
       3},
      {D::kByteCountOverflowWraps,
       "ByteCountOverflowWraps",
       q,
       S::kOpen,
       "overflow 64 bits",
       {s1, kEmbed},
       3},
      {D::kNegativeShape, "NegativeShape", q, S::kOpen, "shape has -256", {s1, kEmbed}, 3},
      {D::kNonIntegerShape, "NonIntegerShape", q, S::kOpen, "shape has 256.5", {s1, kEmbed}, 3},
      {D::kOffsetsEndBeforeBegin,
       "OffsetsEndBeforeBegin",
       q,
       S::kOpen,
       "data_offsets end 0 < begin 32768",
       {s1, kEmbed},
       3},
      {D::kGapBetweenTensors,
       "GapBetweenTensors",
       q,
       S::kOpen,
       "gap in data: tensor \"model.layers.0.mlp.experts.0.gate_proj.weight\" begins at 36864 "
       "but the previous tensor ends at 32768",
       {s1},
       3},
      {D::kOverlappingTensors,
       "OverlappingTensors",
       q,
       S::kOpen,
       "overlaps the previous tensor",
       {s1, kUp0},
       3},
      {D::kSpanDisagreesWithShape,
       "SpanDisagreesWithShape",
       q,
       S::kOpen,
       "data_offsets span 4096 bytes but shape and dtype BF16 need 4032",
       {s1, kGate0},
       3},
      {D::kTrailingBytes, "TrailingBytes", q, S::kOpen, "16 trailing bytes", {s1}, 3},
      {D::kTruncatedData, "TruncatedData", q, S::kOpen, "truncated", {s1}, 3},

      {D::kIndexNamesMissingShard,
       "IndexNamesMissingShard",
       q,
       S::kOpen,
       "which does not exist",
       {idx, s4},
       3},
      {D::kIndexTensorAbsentFromShard,
       "IndexTensorAbsentFromShard",
       q,
       S::kOpen,
       "which does not contain it",
       {idx, s1, "lm_head.weight"},
       3},
      {D::kTensorInTwoShards,
       "TensorInTwoShards",
       q,
       S::kOpen,
       "is in two shards",
       {"model.norm.weight", s3, s4},
       3},
      {D::kShardTensorNotInIndex,
       "ShardTensorNotInIndex",
       q,
       S::kOpen,
       "which the index does not assign to it",
       {idx, s1, kDown0},
       3},
      {D::kIndexShardPathTraversal,
       "IndexShardPathTraversal",
       q,
       S::kOpen,
       "expected a plain file name",
       {idx, "../model-00004-of-00004.safetensors"},
       3},
      {D::kIndexShardAbsolutePath,
       "IndexShardAbsolutePath",
       q,
       S::kOpen,
       "expected a plain file name",
       {idx, "{dir}/model-00004-of-00004.safetensors"},
       3},
      {D::kIndexNotJson, "IndexNotJson", q, S::kOpen, "invalid JSON", {idx}, 3},
      {D::kIndexMissingWeightMap,
       "IndexMissingWeightMap",
       q,
       S::kOpen,
       "missing \"weight_map\" object",
       {idx},
       3},

      {D::kConfigMissing, "ConfigMissing", q, S::kOpen, "no such file", {kConfig}, 4},
      {D::kConfigNotJson, "ConfigNotJson", q, S::kOpen, "invalid JSON", {kConfig}, 3},
      {D::kConfigMissingNumExperts,
       "ConfigMissingNumExperts",
       q,
       S::kOpen,
       "missing field \"num_experts\"",
       {kConfig},
       3},
      {D::kConfigNumExpertsNotInteger,
       "ConfigNumExpertsNotInteger",
       q,
       S::kOpen,
       "field \"num_experts\" is \"8\", expected an integer",
       {kConfig},
       3},
      {D::kConfigContradictoryExpertCounts,
       "ConfigContradictoryExpertCounts",
       q,
       S::kOpen,
       "contradictory expert counts: \"num_local_experts\" = 8 but \"num_experts\" = 16",
       {kConfig},
       3},
      {D::kConfigTopKExceedsExperts,
       "ConfigTopKExceedsExperts",
       q,
       S::kOpen,
       "num_experts_per_tok 9 exceeds the 8 routed experts",
       {kConfig},
       3},
      {D::kConfigHeadsNotMultipleOfKvHeads,
       "ConfigHeadsNotMultipleOfKvHeads",
       q,
       S::kOpen,
       "num_attention_heads 4 is not a multiple of num_key_value_heads 3",
       {kConfig},
       3},
      {D::kConfigUnknownModelType,
       "ConfigUnknownModelType",
       q,
       S::kOpen,
       "model_type \"qwen9_moe\" is not a supported MoE family",
       {kConfig},
       3},

      {D::kUnknownTensorName,
       "UnknownTensorName",
       q,
       S::kUnclassified,
       "not recognised",
       {"model.layers.0.mlp.mystery.weight"},
       3},
      {D::kExpertIndexOutOfRange,
       "ExpertIndexOutOfRange",
       q,
       S::kInventory,
       "expert 8 but config.json has 8 experts",
       {"model.layers.0.mlp.experts.8.gate_proj.weight"},
       3},
      {D::kLayerIndexOutOfRange,
       "LayerIndexOutOfRange",
       q,
       S::kInventory,
       "layer 2 but config.json has 2 layers",
       {"model.layers.2.input_layernorm.weight"},
       3},
      {D::kRouterShapeMismatch,
       "RouterShapeMismatch",
       q,
       S::kInventory,
       "has shape [9, 64] but config.json implies [8, 64]",
       {"model.layers.0.mlp.gate.weight"},
       3},
      {D::kExpertShapeMismatch,
       "ExpertShapeMismatch",
       q,
       S::kInventory,
       "has shape [48, 64] but config.json implies [32, 64]",
       {kGate0},
       3},
      {D::kExpertProjectionMissing,
       "ExpertProjectionMissing",
       q,
       S::kInventory,
       "MoE layer 1 expert 3 has no up projection weight (config.json says 8 experts)",
       {"{dir}"},
       3},
      {D::kLlama4PackedExpertAxisMismatch,
       "Llama4PackedExpertAxisMismatch",
       "llama4",
       S::kInventory,
       "packed expert tensor of shape [7, 64, 64], expected 8 experts on axis 0",
       {"model.layers.0.feed_forward.experts.gate_up_proj"},
       3},
      {D::kLlama4PackedDownMissing,
       "Llama4PackedDownMissing",
       "llama4",
       S::kInventory,
       "MoE layer 2 has packed experts without both gate_up and down tensors",
       {"{dir}"},
       3},
      {D::kDeepseekRouterInDenseLayer,
       "DeepseekRouterInDenseLayer",
       "deepseek_v3",
       S::kInventory,
       "router in layer 0, which config.json makes a dense layer",
       {"model.layers.0.mlp.gate.weight"},
       3},
      {D::kDeepseekCorrectionBiasShape,
       "DeepseekCorrectionBiasShape",
       "deepseek_v3",
       S::kInventory,
       "has shape [17] but config.json implies [16]",
       {"model.layers.1.mlp.gate.e_score_correction_bias"},
       3},

      {D::kZeroSizeTensorSharingOffset,
       "ZeroSizeTensorSharingOffset",
       q,
       S::kAccepted,
       "",
       {"model.layers.0.self_attn.k_proj.bias"},
       0},
  };
}

}  // namespace

const std::vector<DefectCase>& AllDefectCases() {
  static const std::vector<DefectCase> cases = BuildCases();
  return cases;
}

const DefectCase& CaseFor(CheckpointDefect defect) {
  for (const DefectCase& c : AllDefectCases()) {
    if (c.defect == defect) return c;
  }
  std::abort();  // every defect has a case (checked by a test)
}

std::vector<std::string> ExpectedNames(const DefectCase& c, const std::string& dir) {
  std::vector<std::string> out;
  for (std::string n : c.names) {
    if (size_t at = n.find("{dir}"); at != std::string::npos) n.replace(at, 5, dir);
    out.push_back(std::move(n));
  }
  return out;
}

std::string FixtureDir(const std::string& family) {
  return (fs::path(moedist::test_dirs::FixtureRoot()) / "fixtures" / "hf-tiny" / family).string();
}

Status CopyFixture(const std::string& family, const std::string& out_dir) {
  const std::string src = FixtureDir(family);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Status::IoError("corpus: mkdir {}: {}", out_dir, ec.message());
  ASSIGN_OR_RETURN(nlohmann::ordered_json index, ReadJsonFile(Join(src, kIndex)));
  std::set<std::string> files = {kConfig, kIndex};
  for (const auto& [tensor, shard] : index["weight_map"].items()) files.insert(shard);
  for (const std::string& f : files) {
    const std::string to = Join(out_dir, f);
    fs::copy_file(Join(src, f), to, fs::copy_options::overwrite_existing, ec);
    if (ec) return Status::IoError("corpus: copy {}: {}", f, ec.message());
    fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add, ec);
    if (ec) return Status::IoError("corpus: chmod {}: {}", to, ec.message());
  }
  return Status::Ok();
}

Status WriteMalformedCheckpoint(CheckpointDefect defect, const std::string& out_dir) {
  RETURN_IF_ERROR(CopyFixture(CaseFor(defect).family, out_dir));
  return ApplyCheckpointDefect(defect, out_dir);
}

ScopedTempDir::ScopedTempDir(const std::string& tag) {
  std::string templ = (fs::temp_directory_path() / ("moedist-" + tag + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) std::abort();
  path_ = templ;
}

ScopedTempDir::~ScopedTempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("corpus: cannot read {}", path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

Status WriteFileBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Status::IoError("corpus: cannot write {}", path);
  return Status::Ok();
}

Status EditShardHeaderText(const std::string& path,
                           const std::function<Status(std::string& header)>& edit) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadFileBytes(path));
  if (bytes.size() < 8 || ReadLe64(bytes) > bytes.size() - 8) {
    return Status::Internal("corpus: {} is not a safetensors file to edit", path);
  }
  const uint64_t n = ReadLe64(bytes);
  std::string header(bytes.begin() + 8, bytes.begin() + 8 + n);
  RETURN_IF_ERROR(edit(header));
  std::vector<uint8_t> out(8);
  PutLe64(header.size(), out.data());
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), bytes.begin() + 8 + n, bytes.end());
  return WriteFileBytes(path, out);
}

Status EditShardHeaderJson(const std::string& path,
                           const std::function<Status(nlohmann::ordered_json& header)>& edit) {
  return EditShardHeaderText(path, [&](std::string& text) -> Status {
    nlohmann::ordered_json j;
    try {
      j = nlohmann::ordered_json::parse(text);
    } catch (const std::exception& e) {
      return Status::Internal("corpus: {}: {}", path, e.what());
    }
    RETURN_IF_ERROR(edit(j));
    text = j.dump();
    return Status::Ok();
  });
}

}  // namespace moedist::corpus
