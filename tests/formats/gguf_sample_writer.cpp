// gguf_sample_writer OUT_DIR: writes sample GGUF files with formats/gguf_writer.h and, next to
// each, what an independent parser must find in it:
//   NAME.gguf.expected.json  for tests/formats/gguf_npm/check_gguf.mjs (@huggingface/gguf)
//   NAME.gguf.expected.txt   for tests/formats/gguf_ggml_check.c (ggml's own gguf.cpp)
// One more sample, imatrix.gguf, is an importance matrix written by formats/imatrix_gguf.h (the
// layout llama.cpp's llama-imatrix writes). Every sample is first re-read by moedist's strict
// reader. Used by the ctests
// gguf.npm_parser_check and gguf.ggml_parser_check (tests/CMakeLists.txt).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"
#include "formats/imatrix_gguf.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

uint64_t Fnv1a(std::span<const uint8_t> bytes, uint64_t h = 0xcbf29ce484222325ull) {
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
  return h;
}
uint64_t Fnv1a(std::string_view s, uint64_t h = 0xcbf29ce484222325ull) {
  return Fnv1a(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()), h);
}

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  uint32_t x = seed * 2654435761u + 12345;
  for (auto& b : out) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return out;
}

// A scalar in the canonical text both checkers use: integers in decimal, floats as the hex of
// their bits, bools as true/false.
std::string ScalarText(GgufValueType type, uint64_t bits) {
  using gguf_internal::FromBits;
  switch (type) {
    case GgufValueType::kInt8: return std::to_string(FromBits<int8_t>(bits));
    case GgufValueType::kInt16: return std::to_string(FromBits<int16_t>(bits));
    case GgufValueType::kInt32: return std::to_string(FromBits<int32_t>(bits));
    case GgufValueType::kInt64: return std::to_string(FromBits<int64_t>(bits));
    case GgufValueType::kFloat32: return fmt::format("0x{:08x}", bits);
    case GgufValueType::kFloat64: return fmt::format("0x{:016x}", bits);
    case GgufValueType::kBool: return bits != 0 ? "true" : "false";
    default: return std::to_string(bits);
  }
}

json ArrayJson(const GgufArray& a);

json ScalarJson(GgufValueType type, uint64_t bits) {
  if (type == GgufValueType::kBool) return bits != 0;
  return ScalarText(type, bits);
}

// {"type": "UINT32", "value": "5"}; arrays: {"type": "ARRAY", "element_type": …, "elements": […]}
json ValueJson(const GgufValue& v) {
  if (const std::string* s = v.string()) return {{"type", "STRING"}, {"value", *s}};
  if (const GgufArray* a = v.array()) return ArrayJson(*a);
  return {{"type", GgufValueTypeName(v.type())}, {"value", ScalarJson(v.type(), v.bits())}};
}

json ArrayJson(const GgufArray& a) {
  json elements = json::array();
  const uint32_t width = GetGgufValueTypeInfo(a.element_type()).fixed_bytes;
  for (uint64_t i = 0; i < a.size(); ++i) {
    if (a.element_type() == GgufValueType::kString) {
      elements.push_back(a.strings()[i]);
    } else if (a.element_type() == GgufValueType::kArray) {
      elements.push_back(ArrayJson(a.arrays()[i]));
    } else {
      uint64_t bits = gguf_internal::LoadLe(a.little_endian_bytes().data() + i * width, width);
      elements.push_back(ScalarJson(a.element_type(), bits));
    }
  }
  return {{"type", "ARRAY"},
          {"element_type", GgufValueTypeName(a.element_type())},
          {"elements", elements}};
}

// One line per key for the ggml checker: "kv KEY TYPE VALUE", arrays as
// "kv KEY ARRAY ELEMENT_TYPE N FNV" (FNV-1a 64 of the elements' bytes; strings as bytes only).
std::string ValueLine(const GgufKv& kv) {
  const GgufValue& v = kv.value;
  if (const std::string* s = v.string()) {
    return fmt::format("kv {} STRING {} {:016x}", kv.key, s->size(), Fnv1a(*s));
  }
  if (const GgufArray* a = v.array()) {
    uint64_t h = Fnv1a(a->little_endian_bytes());
    for (const std::string& s : a->strings()) h = Fnv1a(s, h);
    return fmt::format("kv {} ARRAY {} {} {:016x}", kv.key, GgufValueTypeName(a->element_type()),
                       a->size(), h);
  }
  return fmt::format("kv {} {} {}", kv.key, GgufValueTypeName(v.type()),
                     ScalarText(v.type(), v.bits()));
}

struct Sample {
  std::string name;
  std::vector<GgufKv> kvs;
  std::vector<std::pair<GgmlType, std::vector<uint64_t>>> shapes;
  bool nested = false;  // holds nested arrays: ggml must refuse it
};

std::vector<GgufKv> LlamaLikeMetadata() {
  return {
      {"general.architecture", GgufValue::String("llama")},
      {"general.name", GgufValue::String("moedist sample \xe2\x80\x94 node 0")},
      {"general.quantization_version", GgufValue::U32(2)},
      {"general.file_type", GgufValue::U32(15)},
      {"llama.block_count", GgufValue::U32(2)},
      {"llama.context_length", GgufValue::U32(4096)},
      {"llama.rope.freq_base", GgufValue::F32(10000.0f)},
      {"llama.attention.layer_norm_rms_epsilon", GgufValue::F32(1e-6f)},
      {"llama.expert_count", GgufValue::U32(8)},
      {"tokenizer.ggml.model", GgufValue::String("gpt2")},
      {"tokenizer.ggml.tokens",
       GgufValue::Array(GgufArray::Strings({"<s>", "</s>", "\xc4\xa0the", "h\xc3\xa9llo", ""}))},
      {"tokenizer.ggml.scores",
       GgufValue::Array(GgufArray::Of<float>({0.f, -1.f, -2.5f, 3.f, -0.f}))},
      {"tokenizer.ggml.token_type", GgufValue::Array(GgufArray::Of<int32_t>({3, 3, 1, 1, 1}))},
      {"tokenizer.ggml.merges", GgufValue::Array(GgufArray::Strings({"\xc4\xa0 t", "h e"}))},
      {"tokenizer.ggml.add_bos_token", GgufValue::Bool(true)},
      {"moedist.u8", GgufValue::U8(200)},
      {"moedist.i8", GgufValue::I8(-100)},
      {"moedist.u16", GgufValue::U16(60000)},
      {"moedist.i16", GgufValue::I16(-30000)},
      {"moedist.i32", GgufValue::I32(-2000000000)},
      {"moedist.u64", GgufValue::U64(std::numeric_limits<uint64_t>::max())},
      {"moedist.i64", GgufValue::I64(std::numeric_limits<int64_t>::min())},
      {"moedist.f64", GgufValue::F64(-1.0 / 3.0)},
      {"moedist.f32_denormal", GgufValue::F32(std::numeric_limits<float>::denorm_min())},
      {"moedist.bool_false", GgufValue::Bool(false)},
      {"moedist.arr.u8", GgufValue::Array(GgufArray::Of<uint8_t>({0, 255}))},
      {"moedist.arr.i8", GgufValue::Array(GgufArray::Of<int8_t>({-128, 127}))},
      {"moedist.arr.u16", GgufValue::Array(GgufArray::Of<uint16_t>({65535}))},
      {"moedist.arr.i16", GgufValue::Array(GgufArray::Of<int16_t>({-1, 1}))},
      {"moedist.arr.u32", GgufValue::Array(GgufArray::Of<uint32_t>({4294967295u, 0}))},
      {"moedist.arr.u64", GgufValue::Array(GgufArray::Of<uint64_t>({1ull << 63}))},
      {"moedist.arr.i64", GgufValue::Array(GgufArray::Of<int64_t>({-(1ll << 62)}))},
      {"moedist.arr.f64", GgufValue::Array(GgufArray::Of<double>({1e300, -0.0}))},
      {"moedist.arr.bool", GgufValue::Array(GgufArray::Of<bool>({true, false}))},
      {"moedist.arr.empty", GgufValue::Array(GgufArray::Of<uint32_t>({}))},
  };
}

int WriteExpectations(const Sample& s, const fs::path& dir);

// An importance matrix as profile --imatrix writes it: a dense entry and a merged expert entry
// (3 experts, one of which saw no token).
int WriteImatrixSample(const fs::path& dir) {
  Imatrix m;
  m.datasets = {"examples/calibration/calibration.jsonl"};
  m.chunk_count = 5;
  m.chunk_size = 256;
  m.entries["blk.0.attn_q.weight"] = {4, {1.5f, 0.25f, 3.0f, 0.0f}, {7.0f}};
  m.entries["blk.0.ffn_down_exps.weight"] = {
      2, {0.5f, 1.0f, 0.0f, 0.0f, 2.0f, 4.0f}, {3.0f, 0.0f, 4.0f}};
  const fs::path path = dir / "imatrix.gguf";
  if (Status st = WriteImatrixFile(path.string(), m); !st.ok()) {
    return fprintf(stderr, "%s\n", st.ToString().c_str()), 1;
  }
  Sample s{"imatrix", {}, {}};
  s.kvs = {{"general.type", GgufValue::String("imatrix")},
           {"imatrix.datasets", GgufValue::Array(GgufArray::Strings(m.datasets))},
           {"imatrix.chunk_count", GgufValue::U32(m.chunk_count)},
           {"imatrix.chunk_size", GgufValue::U32(m.chunk_size)}};
  return WriteExpectations(s, dir);
}

std::vector<Sample> Samples() {
  std::vector<std::pair<GgmlType, std::vector<uint64_t>>> every_type;
  for (const GgmlTypeInfo& info : GgmlTypeTable()) {
    every_type.push_back({info.type, {2ull * info.block_elements, 3}});
  }
  every_type.push_back({GgmlType::kF32, {7}});
  every_type.push_back({GgmlType::kQ4_K, {256, 2, 3}});
  every_type.push_back({GgmlType::kBF16, {4, 3, 2, 2}});

  std::vector<GgufKv> nested = LlamaLikeMetadata();
  nested.push_back(
      {"moedist.nested", GgufValue::Array(GgufArray::Arrays(
                             {GgufArray::Of<uint32_t>({1, 2}), GgufArray::Strings({"a"}),
                              GgufArray::Arrays({GgufArray::Of<float>({0.5f})})}))});
  std::vector<GgufKv> aligned = {{"general.architecture", GgufValue::String("llama")},
                                 {"general.alignment", GgufValue::U32(64)}};
  return {
      {"llama_like", LlamaLikeMetadata(), every_type},
      {"aligned64",
       aligned,
       {{GgmlType::kF16, {5}}, {GgmlType::kQ8_0, {64, 3}}, {GgmlType::kF32, {3}}}},
      {"zero_size",
       {{"general.architecture", GgufValue::String("llama")}},
       {{GgmlType::kF32, {4}}, {GgmlType::kQ8_0, {32, 0}}, {GgmlType::kF32, {2}}}},
      {"no_tensors", {{"general.architecture", GgufValue::String("llama")}}, {}},
      {"nested_arrays", nested, {{GgmlType::kF32, {8}}}, /*nested=*/true},
  };
}

bool WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

int WriteSample(const Sample& s, const fs::path& dir) {
  std::vector<std::vector<uint8_t>> data;
  std::vector<GgufTensorSource> sources;
  data.reserve(s.shapes.size());
  for (size_t i = 0; i < s.shapes.size(); ++i) {
    const auto& [type, ne] = s.shapes[i];
    auto size = ComputeGgmlTensorSize(type, ne, StatusCode::kInternal);
    if (!size.ok()) return fprintf(stderr, "%s\n", size.status().ToString().c_str()), 1;
    data.push_back(Pattern(static_cast<size_t>(size->bytes), static_cast<uint32_t>(i + 1)));
    sources.push_back(GgufSourceFromBytes(fmt::format("blk.{}.{}", i, GgmlTypeName(type)), type, ne,
                                          data.back()));
  }
  const fs::path path = dir / (s.name + ".gguf");
  GgufWriteOptions options;
  options.allow_nested_arrays = s.nested;
  Status st = WriteGgufFile(path.string(), s.kvs, sources, options);
  if (!st.ok()) return fprintf(stderr, "%s\n", st.ToString().c_str()), 1;
  return WriteExpectations(s, dir);
}

// NAME.gguf.expected.{json,txt} for a sample already written as DIR/NAME.gguf.
int WriteExpectations(const Sample& s, const fs::path& dir) {
  const fs::path path = dir / (s.name + ".gguf");
  auto file = GgufFile::Open(path.string());  // row 16: re-read by the strict reader first
  if (!file.ok()) return fprintf(stderr, "%s\n", file.status().ToString().c_str()), 1;

  json meta = json::array();
  // ggml does not align the data offset of a file without tensors (it reports the unpadded
  // end of the header), so the offset is only compared when there are tensors.
  const std::string data_offset =
      (*file)->tensors().empty() ? "none" : std::to_string((*file)->data_offset());
  std::string text = fmt::format(
      "ggml_accepts {}\nversion 3\nalignment {}\ndata_offset {}\n"
      "n_kv {}\n",
      s.nested ? 0 : 1, (*file)->alignment(), data_offset, s.kvs.size());
  for (const GgufKv& kv : s.kvs) {
    json entry = ValueJson(kv.value);
    entry["key"] = kv.key;
    meta.push_back(entry);
    text += ValueLine(kv) + "\n";
  }
  json tensors = json::array();
  text += fmt::format("n_tensors {}\n", (*file)->tensors().size());
  for (const GgufTensorInfo& t : (*file)->tensors()) {
    json shape = json::array();
    for (uint64_t d : t.ne) shape.push_back(std::to_string(d));
    tensors.push_back({{"name", t.name},
                       {"shape", shape},
                       {"dtype", GgmlTypeId(t.type)},
                       {"offset", std::to_string(t.offset)}});
    uint64_t ne[4] = {1, 1, 1, 1};
    std::copy(t.ne.begin(), t.ne.end(), ne);
    text += fmt::format("tensor {} {} {} {} {} {} {} {} {:016x}\n", t.name, GgmlTypeId(t.type),
                        t.offset, ne[0], ne[1], ne[2], ne[3], t.num_bytes,
                        Fnv1a((*file)->TensorBytes(t)));
  }
  json expected = {{"version", 3},
                   {"tensor_data_offset", std::to_string((*file)->data_offset())},
                   {"metadata", meta},
                   {"tensors", tensors}};
  if (!WriteText(dir / (s.name + ".gguf.expected.json"), expected.dump(1)) ||
      !WriteText(dir / (s.name + ".gguf.expected.txt"), text)) {
    return fprintf(stderr, "cannot write expectations for %s\n", s.name.c_str()), 1;
  }
  printf("wrote %s (%llu bytes)\n", path.c_str(),
         static_cast<unsigned long long>((*file)->file_size()));
  return 0;
}

}  // namespace
}  // namespace moedist

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  std::filesystem::create_directories(argv[1]);
  for (const moedist::Sample& s : moedist::Samples()) {
    if (int rc = moedist::WriteSample(s, argv[1]); rc != 0) return rc;
  }
  return moedist::WriteImatrixSample(argv[1]);
}
