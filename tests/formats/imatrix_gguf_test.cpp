#include "formats/imatrix_gguf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"

namespace moedist {
namespace {

class VectorSink final : public ByteSink {
 public:
  Status Write(std::span<const uint8_t> bytes) override {
    data.insert(data.end(), bytes.begin(), bytes.end());
    return Status::Ok();
  }
  std::vector<uint8_t> data;
};

Imatrix Sample() {
  Imatrix m;
  m.datasets = {"suite.jsonl"};
  m.chunk_count = 3;
  m.chunk_size = 128;
  m.entries["blk.0.attn_q.weight"] = {4, {1.5f, 0.25f, 3.0f, 0.0f}, {6.0f}};
  m.entries["blk.1.ffn_up_exps.weight"] = {
      2, {0.5f, 1.0f, 0.0f, 0.0f, 2.0f, 4.0f}, {2.0f, 0.0f, 4.0f}};
  return m;
}

std::vector<uint8_t> Bytes(const Imatrix& m) {
  VectorSink sink;
  EXPECT_TRUE(WriteImatrix(m, sink).ok());
  return sink.data;
}

TEST(ImatrixGguf, RoundTripsThroughTheStrictReader) {
  const Imatrix m = Sample();
  const std::vector<uint8_t> bytes = Bytes(m);
  auto back = ParseImatrix(bytes, "sample");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->datasets, m.datasets);
  EXPECT_EQ(back->chunk_count, 3u);
  EXPECT_EQ(back->chunk_size, 128u);
  ASSERT_EQ(back->entries.size(), 2u);
  for (const auto& [name, e] : m.entries) {
    const ImatrixEntry& b = back->entries.at(name);
    EXPECT_EQ(b.in_features, e.in_features) << name;
    EXPECT_EQ(b.in_sum2, e.in_sum2) << name;
    EXPECT_EQ(b.counts, e.counts) << name;
  }
  // Writing what was read gives the same bytes.
  EXPECT_EQ(Bytes(*back), bytes);
}

// The layout llama.cpp's save_imatrix writes: keys in its order and types, tensors sorted by
// weight name, in_sum2 then counts, F32, ne [in, matrices] and [1, matrices], alignment 32.
TEST(ImatrixGguf, LayoutIsLlamaImatrixs) {
  const std::vector<uint8_t> bytes = Bytes(Sample());
  auto f = GgufFile::Parse(nullptr, bytes, "sample");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const auto& kvs = (*f)->metadata();
  ASSERT_EQ(kvs.size(), 4u);
  EXPECT_EQ(kvs[0].key, "general.type");
  EXPECT_EQ(*kvs[0].value.string(), "imatrix");
  EXPECT_EQ(kvs[1].key, "imatrix.datasets");
  ASSERT_NE(kvs[1].value.array(), nullptr);
  EXPECT_EQ(kvs[1].value.array()->element_type(), GgufValueType::kString);
  EXPECT_EQ(kvs[2].key, "imatrix.chunk_count");
  EXPECT_EQ(kvs[2].value.type(), GgufValueType::kUint32);
  EXPECT_EQ(kvs[3].key, "imatrix.chunk_size");
  EXPECT_EQ(kvs[3].value.type(), GgufValueType::kUint32);
  EXPECT_EQ((*f)->alignment(), 32u);
  const auto& t = (*f)->tensors();
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].name, "blk.0.attn_q.weight.in_sum2");
  EXPECT_EQ(t[0].ne, (std::vector<uint64_t>{4, 1}));
  EXPECT_EQ(t[1].name, "blk.0.attn_q.weight.counts");
  EXPECT_EQ(t[1].ne, (std::vector<uint64_t>{1, 1}));
  EXPECT_EQ(t[2].name, "blk.1.ffn_up_exps.weight.in_sum2");
  EXPECT_EQ(t[2].ne, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(t[3].name, "blk.1.ffn_up_exps.weight.counts");
  EXPECT_EQ(t[3].ne, (std::vector<uint64_t>{1, 3}));
  for (const auto& ti : t) EXPECT_EQ(ti.type, GgmlType::kF32) << ti.name;
}

// llama-quantize: in_sum2 / count per matrix in f32; all 1 for a matrix that saw no token.
TEST(ImatrixGguf, ImportanceIsMeanSquareOrOnes) {
  const Imatrix m = Sample();
  const ImatrixEntry& e = m.entries.at("blk.1.ffn_up_exps.weight");
  EXPECT_EQ(e.Importance(0), (std::vector<float>{0.25f, 0.5f}));
  EXPECT_EQ(e.Importance(1), (std::vector<float>{1.0f, 1.0f}));
  EXPECT_EQ(e.Importance(2), (std::vector<float>{0.5f, 1.0f}));
  EXPECT_EQ(m.entries.at("blk.0.attn_q.weight").Importance(0),
            (std::vector<float>{1.5f / 6.0f, 0.25f / 6.0f, 0.5f, 0.0f}));
}

TEST(ImatrixGguf, WriterRefusesInconsistentEntries) {
  Imatrix m = Sample();
  m.entries["blk.2.attn_k.weight"] = {4, {1.0f, 2.0f, 3.0f}, {1.0f}};
  VectorSink sink;
  Status st = WriteImatrix(m, sink);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("blk.2.attn_k.weight"), std::string::npos) << st.ToString();
}

// Files with one defect each, written with the generic GGUF writer.
struct Defect {
  std::string what;
  std::vector<GgufKv> kvs;
  std::vector<std::tuple<std::string, GgmlType, std::vector<uint64_t>, std::vector<float>>> tensors;
  std::string expect;  // in the message
};

std::vector<GgufKv> GoodKvs() {
  return {{"general.type", GgufValue::String("imatrix")},
          {"imatrix.datasets", GgufValue::Array(GgufArray::Strings({"d"}))},
          {"imatrix.chunk_count", GgufValue::U32(1)},
          {"imatrix.chunk_size", GgufValue::U32(8)}};
}

TEST(ImatrixGguf, ReaderRefusesEachDefectNamingIt) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  using T = std::tuple<std::string, GgmlType, std::vector<uint64_t>, std::vector<float>>;
  const T sum{"blk.0.attn_q.weight.in_sum2", GgmlType::kF32, {2, 1}, {1.0f, 2.0f}};
  const T cnt{"blk.0.attn_q.weight.counts", GgmlType::kF32, {1, 1}, {4.0f}};
  std::vector<GgufKv> model_type = GoodKvs();
  model_type[0].value = GgufValue::String("model");
  std::vector<GgufKv> no_chunks = GoodKvs();
  no_chunks.pop_back();
  std::vector<GgufKv> chunk_i32 = GoodKvs();
  chunk_i32[2].value = GgufValue::I32(1);
  const std::vector<Defect> defects = {
      {"not an imatrix", model_type, {sum, cnt}, "\"model\", expected \"imatrix\""},
      {"missing chunk_size", no_chunks, {sum, cnt}, "imatrix.chunk_size"},
      {"chunk_count not UINT32", chunk_i32, {sum, cnt}, "imatrix.chunk_count"},
      {"counts missing", GoodKvs(), {sum}, "blk.0.attn_q.weight.in_sum2\" has no"},
      {"sums missing", GoodKvs(), {cnt}, "blk.0.attn_q.weight.counts\" has no"},
      {"counts of another matrix count",
       GoodKvs(),
       {sum, T{"blk.0.attn_q.weight.counts", GgmlType::kF32, {1, 2}, {4.0f, 4.0f}}},
       "blk.0.attn_q.weight.counts\" has ne [1, 2], expected [1, 1]"},
      {"F16 sums",
       GoodKvs(),
       {T{"blk.0.attn_q.weight.in_sum2", GgmlType::kF16, {2, 1}, {0.0f}}, cnt},
       "blk.0.attn_q.weight.in_sum2\" has type F16"},
      {"1-D sums",
       GoodKvs(),
       {T{"blk.0.attn_q.weight.in_sum2", GgmlType::kF32, {2}, {1.0f, 2.0f}}, cnt},
       "has 1 dimensions, expected 2"},
      {"negative sum",
       GoodKvs(),
       {T{"blk.0.attn_q.weight.in_sum2", GgmlType::kF32, {2, 1}, {1.0f, -2.0f}}, cnt},
       "blk.0.attn_q.weight.in_sum2\" value 1 is -2"},
      {"NaN sum",
       GoodKvs(),
       {T{"blk.0.attn_q.weight.in_sum2", GgmlType::kF32, {2, 1}, {nan, 2.0f}}, cnt},
       "blk.0.attn_q.weight.in_sum2\" value 0"},
      {"fractional count",
       GoodKvs(),
       {sum, T{"blk.0.attn_q.weight.counts", GgmlType::kF32, {1, 1}, {2.5f}}},
       "blk.0.attn_q.weight.counts\" value 0 is 2.5"},
      {"stray tensor",
       GoodKvs(),
       {sum, cnt, T{"blk.0.attn_q.weight", GgmlType::kF32, {2, 1}, {1.0f, 1.0f}}},
       "tensor \"blk.0.attn_q.weight\" is not <weight>.in_sum2"},
      {"no entries", GoodKvs(), {}, "no <weight>.in_sum2 tensors"},
  };
  for (const Defect& d : defects) {
    std::vector<std::vector<uint8_t>> data;
    std::vector<GgufTensorSource> sources;
    data.reserve(d.tensors.size());
    for (const auto& [name, type, ne, values] : d.tensors) {
      uint64_t n = 1;
      for (uint64_t x : ne) n *= x;
      std::vector<uint8_t> raw(n * (type == GgmlType::kF32 ? 4 : 2), 0);
      if (type == GgmlType::kF32) std::memcpy(raw.data(), values.data(), raw.size());
      data.push_back(std::move(raw));
      sources.push_back(GgufSourceFromBytes(name, type, ne, data.back()));
    }
    VectorSink sink;
    ASSERT_TRUE(WriteGguf(d.kvs, std::move(sources), sink).ok()) << d.what;
    auto m = ParseImatrix(sink.data, "defect.gguf");
    ASSERT_FALSE(m.ok()) << d.what;
    EXPECT_NE(m.status().ToString().find(d.expect), std::string::npos)
        << d.what << ": " << m.status().ToString();
    EXPECT_NE(m.status().ToString().find("defect.gguf"), std::string::npos) << d.what;
  }
}

// Newer llama.cpp adds "<weight>.in_sum" (plain sums); the reader accepts and ignores it.
TEST(ImatrixGguf, NewerInSumTensorsAreIgnored) {
  std::vector<float> sum = {1.0f, 2.0f}, cnt = {4.0f}, plain = {-1.0f, 0.5f};
  std::vector<GgufTensorSource> sources;
  auto bytes = [](const std::vector<float>& v) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4);
  };
  sources.push_back(
      GgufSourceFromBytes("blk.0.attn_q.weight.in_sum2", GgmlType::kF32, {2, 1}, bytes(sum)));
  sources.push_back(
      GgufSourceFromBytes("blk.0.attn_q.weight.counts", GgmlType::kF32, {1, 1}, bytes(cnt)));
  sources.push_back(
      GgufSourceFromBytes("blk.0.attn_q.weight.in_sum", GgmlType::kF32, {2, 1}, bytes(plain)));
  VectorSink sink;
  ASSERT_TRUE(WriteGguf(GoodKvs(), std::move(sources), sink).ok());
  auto m = ParseImatrix(sink.data, "newer.gguf");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->entries.size(), 1u);
  EXPECT_EQ(m->entries.at("blk.0.attn_q.weight").in_sum2, sum);
}

}  // namespace
}  // namespace moedist
