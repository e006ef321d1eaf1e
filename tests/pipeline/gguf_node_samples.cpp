// gguf_node_samples OUT_DIR: packs every hf-tiny family (plus a DeepSeek variant without expert
// groups, and the trained example checkpoint with its tokenizer, kept and in q8_0) with
// `--format both` and writes, for each node GGUF, what moedist meant to write:
//   OUT/<case>.<node>.gguf.expected.json  for tests/formats/gguf_npm/check_gguf.mjs
//   OUT/cases.txt                         "GGUF EXPECTED" per line
//   OUT/<case>.<node>.llama.txt           "N_VOCAB TOKEN..." then runtime-min's logits of the
//                                         last position on the safetensors node (with its mask),
//                                         for tests/pipeline/run_llama_check.sh
// The expectation comes from the exporter's plan (keys, tensor names, ggml dims and types) and
// offsets laid out by the writer into a counting sink, never from reading the file back.
// Families llama.cpp cannot run as a sliced node must be refused: the program fails if the
// DeepSeek fixture (grouped top-k) is accepted or any other case is refused.
// Exit status: 0 when every case behaved, 1 otherwise, 2 on bad usage.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/json_strict.h"
#include "formats/gguf_writer.h"
#include "formats/hf_checkpoint.h"
#include "gguf_node_testutil.h"
#include "pack_fixture_testutil.h"
#include "pipeline/gguf_node_export.h"
#include "runtime-min/expert_mask.h"
#include "runtime-min/model.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ScalarText(GgufValueType type, uint64_t bits) {
  using gguf_internal::FromBits;
  switch (type) {
    case GgufValueType::kInt8: return std::to_string(FromBits<int8_t>(bits));
    case GgufValueType::kInt16: return std::to_string(FromBits<int16_t>(bits));
    case GgufValueType::kInt32: return std::to_string(FromBits<int32_t>(bits));
    case GgufValueType::kInt64: return std::to_string(FromBits<int64_t>(bits));
    case GgufValueType::kFloat32: return fmt::format("0x{:08x}", bits);
    case GgufValueType::kFloat64: return fmt::format("0x{:016x}", bits);
    default: return std::to_string(bits);
  }
}

json ScalarJson(GgufValueType type, uint64_t bits) {
  if (type == GgufValueType::kBool) return bits != 0;
  return ScalarText(type, bits);
}

// The canonical form check_gguf.mjs compares (floats by bit pattern, integers in decimal).
json ValueJson(const GgufValue& v) {
  if (const std::string* s = v.string()) return {{"type", "STRING"}, {"value", *s}};
  if (const GgufArray* a = v.array()) {
    json elements = json::array();
    const uint32_t width = GetGgufValueTypeInfo(a->element_type()).fixed_bytes;
    for (uint64_t i = 0; i < a->size(); ++i) {
      if (a->element_type() == GgufValueType::kString) {
        elements.push_back(a->strings()[i]);
      } else {
        const uint64_t bits =
            gguf_internal::LoadLe(a->little_endian_bytes().data() + i * width, width);
        elements.push_back(ScalarJson(a->element_type(), bits));
      }
    }
    return {{"type", "ARRAY"},
            {"element_type", GgufValueTypeName(a->element_type())},
            {"elements", elements}};
  }
  return {{"type", GgufValueTypeName(v.type())}, {"value", ScalarJson(v.type(), v.bits())}};
}

Result<json> Expected(const GgufNodePlan& plan) {
  CountingSink counter;
  GgufLayout layout;
  RETURN_IF_ERROR(WriteGguf(plan.metadata, plan.tensors, counter, {}, &layout));
  json meta = json::array();
  for (const GgufKv& kv : plan.metadata) {
    json entry = ValueJson(kv.value);
    entry["key"] = kv.key;
    meta.push_back(entry);
  }
  json tensors = json::array();
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    json shape = json::array();
    for (uint64_t d : plan.tensors[i].ne) shape.push_back(std::to_string(d));
    tensors.push_back({{"name", plan.tensors[i].name},
                       {"shape", shape},
                       {"dtype", GgmlTypeId(plan.tensors[i].type)},
                       {"offset", std::to_string(layout.tensor_offsets[i])}});
  }
  return json{{"version", 3},
              {"tensor_data_offset", std::to_string(layout.data_offset)},
              {"metadata", meta},
              {"tensors", tensors}};
}

// One sequence of token ids: the fixture's first, or a fixed pattern for the example.
std::vector<int32_t> SampleIds(const gguf_testing::GgufCase& c, int vocab) {
  if (c.checkpoint.find("hf-tiny") != std::string::npos) {
    return pack_testing::FixtureInputIds(gguf_testing::CaseFamily(c))[0];
  }
  std::vector<int32_t> ids;
  for (int i = 0; i < 12; ++i) ids.push_back((i * 37 + 11) % vocab);
  return ids;
}

// runtime-min's last-position logits on the safetensors node, for the llama.cpp comparison.
Status WriteLlamaExpectation(const gguf_testing::GgufCase& c, const std::string& dist,
                             const NodeInfo& info, const fs::path& path) {
  const std::string dir = dist + "/" + info.node;
  ASSIGN_OR_RETURN(auto model, Model::Open(dir, CheckpointOpenOptions{dist}));
  std::optional<ExpertMask> mask;
  if (info.mode == NodeMode::kMask) {
    ASSIGN_OR_RETURN(mask, ExpertMask::Load(dir + "/expert_mask.json", model->config()));
  }
  const int vocab = model->config().vocab_size;
  const std::vector<int32_t> ids = SampleIds(c, vocab);
  ASSIGN_OR_RETURN(std::vector<float> logits,
                   pack_testing::RunLogits(*model, {ids}, mask ? &*mask : nullptr));
  std::ofstream out(path);
  out << vocab;
  for (int32_t id : ids) out << " " << id;
  out << "\n";
  for (size_t v = logits.size() - vocab; v < logits.size(); ++v)
    out << fmt::format("{:.9g}\n", logits[v]);
  return Status::Ok();
}

int RunCase(const gguf_testing::GgufCase& c, const fs::path& out, std::ofstream& cases) {
  const fs::path dist = out / c.name;
  auto packed = gguf_testing::PackCase(c, dist.string(), NodeFileFormat::kBoth);
  if (!c.expect_refusal) {
    if (!packed.ok())
      return fprintf(stderr, "%s: %s\n", c.name.c_str(), packed.status().ToString().c_str()), 1;
  } else {
    if (packed.ok() || packed.status().code() != StatusCode::kUnsupported) {
      fprintf(stderr, "%s: expected a refusal, got %s\n", c.name.c_str(),
              packed.ok() ? "success" : packed.status().ToString().c_str());
      return 1;
    }
    printf("%s: refused as expected: %s\n", c.name.c_str(), packed.status().message().c_str());
    return 0;
  }
  for (const NodeInfo& info : packed->nodes) {
    auto plan = gguf_testing::ReplanNode(dist.string(), c.checkpoint, info);
    if (!plan.ok())
      return fprintf(stderr, "%s: %s\n", c.name.c_str(), plan.status().ToString().c_str()), 1;
    auto expected = Expected(plan->plan);
    if (!expected.ok()) return fprintf(stderr, "%s\n", expected.status().ToString().c_str()), 1;
    const fs::path gguf = dist / info.node / NodeGgufFileName(info.node);
    const fs::path exp = out / fmt::format("{}.{}.gguf.expected.json", c.name, info.node);
    std::ofstream(exp) << expected->dump(1);
    cases << gguf.string() << " " << exp.string() << "\n";
    Status llama = WriteLlamaExpectation(c, dist.string(), info,
                                         out / fmt::format("{}.{}.llama.txt", c.name, info.node));
    if (!llama.ok())
      return fprintf(stderr, "%s: %s\n", c.name.c_str(), llama.ToString().c_str()), 1;
    printf("%s %s: %zu tensors, %zu keys\n", c.name.c_str(), info.node.c_str(),
           plan->plan.tensors.size(), plan->plan.metadata.size());
  }
  return 0;
}

}  // namespace
}  // namespace moedist

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  fs::remove_all(out);
  fs::create_directories(out);
  std::ofstream cases(out / "cases.txt");
  moedist::pack_testing::TempDir scratch;
  int status = 0;
  for (const auto& c : moedist::gguf_testing::GgufCases(scratch.path())) {
    status |= moedist::RunCase(c, out, cases);
  }
  return status;
}
