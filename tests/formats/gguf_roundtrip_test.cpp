// GGUF writer → strict reader round trips: every metadata value type (nested arrays included),
// every ggml tensor type, determinism, alignment, atomic files, and the writer's refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/byte_sink.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"
#include "tests/formats/gguf_corpus_testutil.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

class VectorSink final : public ByteSink {
 public:
  Status Write(std::span<const uint8_t> b) override {
    bytes.insert(bytes.end(), b.begin(), b.end());
    return Status::Ok();
  }
  std::vector<uint8_t> bytes;
};

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : out) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return out;
}

// Every value type, with the awkward values of each.
std::vector<GgufKv> AllValueTypes() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  return {
      {"general.architecture", GgufValue::String("llama")},
      {"t.u8", GgufValue::U8(255)},
      {"t.i8", GgufValue::I8(-128)},
      {"t.u16", GgufValue::U16(65535)},
      {"t.i16", GgufValue::I16(-32768)},
      {"t.u32", GgufValue::U32(4294967295u)},
      {"t.i32", GgufValue::I32(std::numeric_limits<int32_t>::min())},
      {"t.f32", GgufValue::F32(-0.0f)},
      {"t.f32_nan", GgufValue::F32(nan)},
      {"t.f32_denormal", GgufValue::F32(std::numeric_limits<float>::denorm_min())},
      {"t.bool_true", GgufValue::Bool(true)},
      {"t.bool_false", GgufValue::Bool(false)},
      {"t.string_empty", GgufValue::String("")},
      {"t.string_utf8", GgufValue::String("h\xc3\xa9llo \xf0\x9f\x98\x80 \"q\" \\ \n")},
      {"t.u64", GgufValue::U64(std::numeric_limits<uint64_t>::max())},
      {"t.i64", GgufValue::I64(std::numeric_limits<int64_t>::min())},
      {"t.f64", GgufValue::F64(-std::numeric_limits<double>::infinity())},
      {"a.u8", GgufValue::Array(GgufArray::Of<uint8_t>({0, 1, 255}))},
      {"a.i8", GgufValue::Array(GgufArray::Of<int8_t>({-1, 0, 127}))},
      {"a.u16", GgufValue::Array(GgufArray::Of<uint16_t>({1, 65535}))},
      {"a.i16", GgufValue::Array(GgufArray::Of<int16_t>({-2, 2}))},
      {"a.u32", GgufValue::Array(GgufArray::Of<uint32_t>({7}))},
      {"a.i32", GgufValue::Array(GgufArray::Of<int32_t>({-7, 0, 7}))},
      {"a.f32", GgufValue::Array(GgufArray::Of<float>({0.5f, -1e-30f, 3.4e38f}))},
      {"a.bool", GgufValue::Array(GgufArray::Of<bool>({true, false, true}))},
      {"a.string", GgufValue::Array(GgufArray::Strings({"<s>", "", "\xe2\x96\x81the"}))},
      {"a.u64", GgufValue::Array(GgufArray::Of<uint64_t>({0, ~0ull}))},
      {"a.i64", GgufValue::Array(GgufArray::Of<int64_t>({-1, 1}))},
      {"a.f64", GgufValue::Array(GgufArray::Of<double>({1.0 / 3.0, -0.0}))},
      {"a.empty", GgufValue::Array(GgufArray::Of<int32_t>({}))},
      {"a.empty_strings", GgufValue::Array(GgufArray::Strings({}))},
  };
}

std::vector<GgufKv> NestedArrays() {
  GgufArray inner1 = GgufArray::Of<uint32_t>({1, 2, 3});
  GgufArray inner2 = GgufArray::Strings({"x", "y"});
  GgufArray level2 = GgufArray::Arrays({inner1, inner2, GgufArray::Arrays({})});
  GgufArray level3 = GgufArray::Arrays({level2, GgufArray::Arrays({inner1})});
  return {{"n.two_levels", GgufValue::Array(level2)},
          {"n.three_levels", GgufValue::Array(level3)}};
}

struct TensorData {
  std::vector<GgufTensorSource> sources;
  std::vector<std::vector<uint8_t>> bytes;  // owns what the sources point at
};

// One tensor of every ggml type (two blocks per row, three rows), plus shapes of every rank,
// a zero-size tensor and a scalar.
TensorData EveryTensorType() {
  struct Shape {
    GgmlType type;
    std::vector<uint64_t> ne;
  };
  std::vector<Shape> shapes;
  for (const GgmlTypeInfo& info : GgmlTypeTable()) {
    shapes.push_back({info.type, {2ull * info.block_elements, 3}});
  }
  shapes.push_back({GgmlType::kF32, {}});                 // scalar, n_dims 0
  shapes.push_back({GgmlType::kF16, {5}});                // odd size: padding follows
  shapes.push_back({GgmlType::kQ4_K, {256, 2, 3}});       // 3-d
  shapes.push_back({GgmlType::kBF16, {4, 3, 2, 2}});      // 4-d
  shapes.push_back({GgmlType::kQ8_0, {32, 0}});           // zero-size: accepted, empty view
  shapes.push_back({GgmlType::kF32, {7}});                // after a zero-size tensor
  TensorData out;
  out.bytes.reserve(shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i) {
    auto size = ComputeGgmlTensorSize(shapes[i].type, shapes[i].ne, StatusCode::kInternal);
    EXPECT_TRUE(size.ok()) << size.status().ToString();
    out.bytes.push_back(Pattern(static_cast<size_t>(size->bytes), static_cast<uint32_t>(i)));
    out.sources.push_back(GgufSourceFromBytes(
        fmt::format("t{}.{}", i, GgmlTypeName(shapes[i].type)), shapes[i].type, shapes[i].ne,
        out.bytes.back()));
  }
  return out;
}

std::vector<uint8_t> WriteToMemory(const std::vector<GgufKv>& kvs,
                                   std::vector<GgufTensorSource> tensors,
                                   GgufWriteOptions options = {}, GgufLayout* layout = nullptr) {
  VectorSink sink;
  Status st = WriteGguf(kvs, std::move(tensors), sink, options, layout);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return sink.bytes;
}

void ExpectSameTensors(const GgufFile& file, const TensorData& data, const GgufLayout& layout) {
  ASSERT_EQ(file.tensors().size(), data.sources.size());
  for (size_t i = 0; i < data.sources.size(); ++i) {
    const GgufTensorInfo& t = file.tensors()[i];
    EXPECT_EQ(t.name, data.sources[i].name);
    EXPECT_EQ(t.type, data.sources[i].type);
    EXPECT_EQ(t.ne, data.sources[i].ne);
    EXPECT_EQ(t.offset, layout.tensor_offsets[i]);
    EXPECT_EQ(t.offset % file.alignment(), 0u);
    auto view = file.TensorBytes(t);
    EXPECT_TRUE(std::equal(view.begin(), view.end(), data.bytes[i].begin(), data.bytes[i].end()))
        << t.name;
    EXPECT_EQ(file.FindTensor(t.name), &t);
  }
}

TEST(GgufRoundTrip, EveryValueTypeAndEveryTensorType) {
  std::vector<GgufKv> kvs = AllValueTypes();
  for (GgufKv& kv : NestedArrays()) kvs.push_back(std::move(kv));
  TensorData data = EveryTensorType();
  GgufWriteOptions options;
  options.allow_nested_arrays = true;
  GgufLayout layout;
  std::vector<uint8_t> bytes = WriteToMemory(kvs, data.sources, options, &layout);
  EXPECT_EQ(bytes.size(), layout.file_bytes);

  auto file = GgufFile::Parse(nullptr, bytes, "roundtrip.gguf");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->version(), 3u);
  EXPECT_EQ((*file)->alignment(), 32u);
  EXPECT_EQ((*file)->data_offset(), layout.data_offset);
  EXPECT_EQ((*file)->metadata(), kvs);  // order, keys, types and bit patterns
  ExpectSameTensors(**file, data, layout);
  const GgufTensorInfo* empty = (*file)->FindTensor(data.sources[data.sources.size() - 2].name);
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->num_bytes, 0u);
  EXPECT_TRUE((*file)->TensorBytes(*empty).empty());
}

TEST(GgufRoundTrip, OutputIsDeterministicAndCountingSinkAgrees) {
  TensorData a = EveryTensorType();
  TensorData b = EveryTensorType();
  std::vector<uint8_t> first = WriteToMemory(AllValueTypes(), a.sources);
  std::vector<uint8_t> second = WriteToMemory(AllValueTypes(), b.sources);
  EXPECT_EQ(first, second);
  CountingSink counter;
  ASSERT_TRUE(WriteGguf(AllValueTypes(), a.sources, counter).ok());
  EXPECT_EQ(counter.count(), first.size());
}

TEST(GgufRoundTrip, CustomAlignmentIsHonouredAndReadBack) {
  std::vector<GgufKv> kvs = {{"general.architecture", GgufValue::String("llama")},
                             {"general.alignment", GgufValue::U32(64)}};
  TensorData data = EveryTensorType();
  GgufLayout layout;
  std::vector<uint8_t> bytes = WriteToMemory(kvs, data.sources, {}, &layout);
  auto file = GgufFile::Parse(nullptr, bytes, "aligned.gguf");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->alignment(), 64u);
  EXPECT_EQ((*file)->data_offset() % 64, 0u);
  ExpectSameTensors(**file, data, layout);
}

// The reader accepts only canonical files: what it parsed from the hand-assembled corpus base,
// written back by the writer, is the same file byte for byte (the fuzz target checks the same
// property on every input it accepts).
TEST(GgufRoundTrip, WriterReproducesTheHandBuiltFileByteForByte) {
  std::vector<uint8_t> original = gguf_corpus::MakeValidGguf();
  auto file = GgufFile::Parse(nullptr, original, "hand-built.gguf");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  std::vector<GgufTensorSource> sources;
  for (const GgufTensorInfo& t : (*file)->tensors()) {
    sources.push_back(GgufSourceFromBytes(t.name, t.type, t.ne, (*file)->TensorBytes(t)));
  }
  EXPECT_EQ(WriteToMemory((*file)->metadata(), std::move(sources)), original);
}

TEST(GgufRoundTrip, NoTensorsNoMetadata) {
  std::vector<uint8_t> bytes = WriteToMemory({}, {});
  EXPECT_EQ(bytes.size(), 32u);  // 24-byte header padded to the alignment
  auto file = GgufFile::Parse(nullptr, bytes, "empty.gguf");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_TRUE((*file)->tensors().empty());
  EXPECT_TRUE((*file)->metadata().empty());
}

TEST(GgufRoundTrip, TypedGettersCheckTypes) {
  std::vector<uint8_t> bytes = WriteToMemory(AllValueTypes(), {});
  auto file = GgufFile::Parse(nullptr, bytes, "typed.gguf");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const GgufFile& f = **file;
  EXPECT_EQ(*f.GetU8("t.u8"), 255);
  EXPECT_EQ(*f.GetI8("t.i8"), -128);
  EXPECT_EQ(*f.GetU16("t.u16"), 65535);
  EXPECT_EQ(*f.GetI16("t.i16"), -32768);
  EXPECT_EQ(*f.GetU32("t.u32"), 4294967295u);
  EXPECT_EQ(*f.GetI32("t.i32"), std::numeric_limits<int32_t>::min());
  EXPECT_TRUE(std::signbit(*f.GetF32("t.f32")));
  EXPECT_TRUE(std::isnan(*f.GetF32("t.f32_nan")));
  EXPECT_TRUE(*f.GetBool("t.bool_true"));
  EXPECT_EQ(*f.GetU64("t.u64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(*f.GetI64("t.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(std::isinf(*f.GetF64("t.f64")));
  EXPECT_EQ(*f.GetString("general.architecture"), "llama");
  auto tokens = f.GetArray("a.string", GgufValueType::kString);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ((*tokens)->strings()[2], "\xe2\x96\x81the");
  EXPECT_EQ(*(*f.GetArray("a.i32"))->ToVector<int32_t>(), (std::vector<int32_t>{-7, 0, 7}));
  EXPECT_FALSE((*f.GetArray("a.i32"))->ToVector<uint32_t>().has_value());

  auto wrong = f.GetU32("general.architecture");
  EXPECT_EQ(wrong.status().code(), StatusCode::kCorruption);
  EXPECT_NE(wrong.status().message().find("is STRING, expected UINT32"), std::string::npos);
  auto absent = f.GetString("general.missing");
  EXPECT_EQ(absent.status().code(), StatusCode::kNotFound);
  auto wrong_element = f.GetArray("a.string", GgufValueType::kInt32);
  EXPECT_NE(wrong_element.status().message().find("array of STRING, expected an array of INT32"),
            std::string::npos);
  EXPECT_EQ(GgufValueToString(*f.FindValue("a.u8")), "ARRAY[UINT8] of 3: 0, 1, 255");
}

TEST(GgufWriterFile, PublishesAtomicallyAndCleansUpOnFailure) {
  const fs::path dir = fs::path(::testing::TempDir()) / "gguf_writer_file";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path good = dir / "good.gguf";
  TensorData data = EveryTensorType();
  ASSERT_TRUE(WriteGgufFile(good.string(), AllValueTypes(), data.sources).ok());
  auto file = GgufFile::Open(good.string());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->tensors().size(), data.sources.size());

  const fs::path bad = dir / "bad.gguf";
  std::vector<GgufTensorSource> failing = {
      {"x", GgmlType::kF32, {4}, [](ByteSink&) { return Status::IoError("disk on fire"); }}};
  Status st = WriteGgufFile(bad.string(), {}, failing);
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_FALSE(fs::exists(bad));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

struct Refusal {
  std::string name;
  std::vector<GgufKv> kvs;
  std::vector<GgufTensorSource> tensors;
  StatusCode code;
  std::string substring;
};

std::vector<Refusal> WriterRefusals() {
  static const std::vector<uint8_t> k16(16, 1);
  auto f32 = [](std::string name, std::vector<uint64_t> ne) {
    return GgufSourceFromBytes(std::move(name), GgmlType::kF32, std::move(ne), k16);
  };
  const GgufKv arch{"general.architecture", GgufValue::String("llama")};
  const auto inv = StatusCode::kInvalidArgument;
  return {
      {"DuplicateKey", {arch, arch}, {}, inv, "duplicate metadata key \"general.architecture\""},
      {"EmptyKey", {{"", GgufValue::U8(1)}}, {}, inv, "metadata key is empty"},
      {"KeyWithSpace", {{"a b", GgufValue::U8(1)}}, {}, inv, "printable ASCII"},
      {"InvalidUtf8", {{"k", GgufValue::String("\xff")}}, {}, inv, "not valid UTF-8"},
      {"InvalidUtf8InArray",
       {{"k", GgufValue::Array(GgufArray::Strings({"ok", "\xed\xa0\x80"}))}}, {}, inv,
       "not valid UTF-8"},
      {"BoolOutOfRange", {{"k", GgufValue::FromBits(GgufValueType::kBool, 2)}}, {}, inv,
       "bool holds 2"},
      {"NestedArrayWithoutOptIn",
       {{"k", GgufValue::Array(GgufArray::Arrays({GgufArray::Of<uint8_t>({1})}))}}, {}, inv,
       "nested arrays are refused by stock ggml"},
      {"AlignmentWrongType", {{"general.alignment", GgufValue::U64(32)}}, {}, inv,
       "general.alignment is UINT64, expected UINT32"},
      {"AlignmentNotPowerOfTwo", {{"general.alignment", GgufValue::U32(48)}}, {}, inv,
       "general.alignment 48 is not a power of two of at least 8"},
      {"AlignmentBelow8", {{"general.alignment", GgufValue::U32(4)}}, {}, inv,
       "general.alignment 4 is not a power of two of at least 8"},
      {"DuplicateTensor", {}, {f32("w", {4}), f32("w", {4})}, inv, "duplicate tensor name \"w\""},
      {"EmptyTensorName", {}, {f32("", {4})}, inv, "tensor name is empty"},
      {"TensorNameTooLong", {}, {f32(std::string(64, 'n'), {4})}, inv, "ggml allows at most 63"},
      {"FiveDims", {}, {f32("w", {4, 1, 1, 1, 1})}, inv, "5 dims; ggml allows at most 4"},
      {"ElementCountOverflow", {}, {f32("w", {1ull << 40, 1ull << 40})}, inv, "overflows int64"},
      {"RowNotMultipleOfBlock", {},
       {GgufSourceFromBytes("q", GgmlType::kQ4_K, {128}, k16)}, inv,
       "row of 128 elements (ne[0]) is not a multiple of the Q4_K block size 256"},
      {"UnknownType", {}, {GgufSourceFromBytes("q", static_cast<GgmlType>(4), {4}, k16)}, inv,
       "unknown ggml type 4"},
      {"ProducerShort", {}, {f32("w", {8})}, StatusCode::kInternal,
       "tensor \"w\" produced 16 bytes, expected 32"},
  };
}

TEST(GgufWriter, RefusesWhatTheReaderWouldRefuse) {
  for (Refusal& r : WriterRefusals()) {
    VectorSink sink;
    Status st = WriteGguf(r.kvs, std::move(r.tensors), sink);
    EXPECT_EQ(st.code(), r.code) << r.name << ": " << st.ToString();
    EXPECT_NE(st.message().find(r.substring), std::string::npos)
        << r.name << ": " << st.message();
  }
}

TEST(GgufWriter, HeaderLimitIsEnforced) {
  GgufWriteOptions options;
  options.limits.max_header_bytes = 64;
  VectorSink sink;
  Status st = WriteGguf(AllValueTypes(), {}, sink, options);
  EXPECT_NE(st.message().find("exceeds the limit of 64"), std::string::npos) << st.message();
  EXPECT_TRUE(sink.bytes.empty());
}

}  // namespace
}  // namespace moedist
