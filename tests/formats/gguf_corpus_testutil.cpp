#include "tests/formats/gguf_corpus_testutil.h"

#include <array>
#include <cassert>

namespace moedist::gguf_corpus {
namespace {

// GGUF value type and ggml type ids, spelled out here so the corpus does not lean on the tables
// it tests.
constexpr uint32_t kU32 = 4, kF32v = 6, kBool = 7, kStr = 8, kArr = 9, kU64 = 10;
constexpr uint32_t kGgmlF32 = 0, kGgmlQ8_0 = 8;

struct DefectRow {
  GgufDefect defect;
  std::string_view name;
  StatusCode code;
  std::string_view substring;
};

constexpr StatusCode kCorrupt = StatusCode::kCorruption;
constexpr StatusCode kUnsup = StatusCode::kUnsupported;

constexpr std::array<DefectRow, 47> kRows = {{
    {GgufDefect::kTruncatedHeader, "TruncatedHeader", kCorrupt, "truncated: tensor_count"},
    {GgufDefect::kBadMagic, "BadMagic", kCorrupt, "bad magic 47 47 4d 4c"},
    {GgufDefect::kVersion0, "Version0", kCorrupt, "GGUF version 0 is invalid"},
    {GgufDefect::kVersion1, "Version1", kUnsup, "version 1 is no longer supported"},
    {GgufDefect::kVersion4, "Version4", kUnsup, "version 4 is newer than the supported"},
    {GgufDefect::kVersionByteSwapped, "VersionByteSwapped", kUnsup, "looks byte-swapped"},
    {GgufDefect::kHugeTensorCount, "HugeTensorCount", kCorrupt,
     "tensor_count 18446744073709551615 needs at least"},
    {GgufDefect::kHugeKvCount, "HugeKvCount", kCorrupt, "kv_count 4611686018427387904 needs"},
    {GgufDefect::kKeyLengthBeyondFile, "KeyLengthBeyondFile", kCorrupt,
     "key of metadata pair 0: string length 1099511627776 at offset 24 exceeds the"},
    {GgufDefect::kKeyLongerThanSpecLimit, "KeyLongerThanSpecLimit", kCorrupt,
     "string length 65536 exceeds the limit of 65535"},
    {GgufDefect::kStringLengthBeyondFile, "StringLengthBeyondFile", kCorrupt,
     "metadata \"general.architecture\": string length 9223372036854775808"},
    {GgufDefect::kArrayCountTimesSizeWraps, "ArrayCountTimesSizeWraps", kCorrupt,
     "array count 4611686018427387905 × 4 bytes per FLOAT32 overflows 64 bits"},
    {GgufDefect::kArrayCountBeyondFile, "ArrayCountBeyondFile", kCorrupt,
     "array of 1048576 UINT64 needs at least 8388608 bytes"},
    {GgufDefect::kStringArrayCountBeyondFile, "StringArrayCountBeyondFile", kCorrupt,
     "array of 1099511627776 STRING needs at least"},
    {GgufDefect::kNestedArrayBomb, "NestedArrayBomb", kCorrupt, "arrays nested deeper than 4"},
    {GgufDefect::kInvalidValueType, "InvalidValueType", kCorrupt, "invalid value type 13"},
    {GgufDefect::kInvalidArrayElementType, "InvalidArrayElementType", kCorrupt,
     "invalid value type 4294967295"},
    {GgufDefect::kBoolNotZeroOrOne, "BoolNotZeroOrOne", kCorrupt, "bool byte is 2"},
    {GgufDefect::kEmptyKey, "EmptyKey", kCorrupt, "metadata key is empty"},
    {GgufDefect::kKeyWithControlByte, "KeyWithControlByte", kCorrupt, "has byte 0x0a at 10"},
    {GgufDefect::kStringNotUtf8, "StringNotUtf8", kCorrupt,
     "metadata \"general.name\": string is not valid UTF-8"},
    {GgufDefect::kDuplicateKey, "DuplicateKey", kCorrupt,
     "duplicate metadata key \"general.architecture\""},
    {GgufDefect::kAlignmentZero, "AlignmentZero", kCorrupt,
     "general.alignment 0 is not a non-zero power of two"},
    {GgufDefect::kAlignmentNotPowerOfTwo, "AlignmentNotPowerOfTwo", kCorrupt,
     "general.alignment 3 is not a non-zero power of two"},
    {GgufDefect::kAlignmentWrongType, "AlignmentWrongType", kCorrupt,
     "general.alignment is UINT64, expected UINT32"},
    {GgufDefect::kEmptyTensorName, "EmptyTensorName", kCorrupt, "tensor 0: tensor name is empty"},
    {GgufDefect::kTensorNameTooLong, "TensorNameTooLong", kCorrupt,
     "is 64 bytes; ggml allows at most 63"},
    {GgufDefect::kDuplicateTensorName, "DuplicateTensorName", kCorrupt,
     "duplicate tensor name \"token_embd.weight\" (tensors 0 and 2)"},
    {GgufDefect::kNDims5, "NDims5", kCorrupt, "n_dims 5 exceeds ggml's maximum of 4"},
    {GgufDefect::kNDimsHuge, "NDimsHuge", kCorrupt, "n_dims 4294967295 exceeds"},
    {GgufDefect::kNegativeDim, "NegativeDim", kCorrupt,
     "ne[1] = 9223372036854775808 is negative"},
    {GgufDefect::kElementCountWrapsToZero, "ElementCountWrapsToZero", kCorrupt,
     "element count of ne [4294967296, 4294967296] overflows int64"},
    {GgufDefect::kElementCountAboveInt64, "ElementCountAboveInt64", kCorrupt,
     "element count of ne [4611686018427387904, 2] overflows int64"},
    {GgufDefect::kByteSizeWrapsToZero, "ByteSizeWrapsToZero", kCorrupt,
     "byte size overflows 64 bits"},
    {GgufDefect::kUnknownGgmlType, "UnknownGgmlType", kUnsup, "unknown ggml type 4"},
    {GgufDefect::kNegativeGgmlType, "NegativeGgmlType", kUnsup, "unknown ggml type 4294967295"},
    {GgufDefect::kRowNotMultipleOfBlock, "RowNotMultipleOfBlock", kCorrupt,
     "row of 33 elements (ne[0]) is not a multiple of the Q8_0 block size 32"},
    {GgufDefect::kOffsetWithGap, "OffsetWithGap", kCorrupt,
     "offset 160 is not the running aligned offset 128"},
    {GgufDefect::kOffsetOverlapping, "OffsetOverlapping", kCorrupt,
     "offset 0 is not the running aligned offset 128"},
    {GgufDefect::kOffsetMisaligned, "OffsetMisaligned", kCorrupt,
     "offset 132 is not a multiple of the alignment 32"},
    {GgufDefect::kDataSizeWraps, "DataSizeWraps", kCorrupt, "data section size overflows 64 bits"},
    {GgufDefect::kDataEndWraps, "DataEndWraps", kCorrupt,
     "truncated: tensor data needs 18446744073709551552 bytes"},
    {GgufDefect::kTruncatedData, "TruncatedData", kCorrupt, "truncated: tensor data needs 320 bytes"},
    {GgufDefect::kMissingLastPadding, "MissingLastPadding", kCorrupt,
     "truncated: tensor data needs 320 bytes"},
    {GgufDefect::kTrailingBytes, "TrailingBytes", kCorrupt,
     "32 trailing bytes after the last tensor's padded end"},
    {GgufDefect::kNonZeroTensorPadding, "NonZeroTensorPadding", kCorrupt,
     "non-zero padding byte 0xaa at file offset"},
    {GgufDefect::kNonZeroHeaderPadding, "NonZeroHeaderPadding", kCorrupt,
     "(before the data section)"},
}};

const DefectRow& Row(GgufDefect d) {
  for (const DefectRow& r : kRows) {
    if (r.defect == d) return r;
  }
  assert(false && "defect missing from kRows");
  return kRows[0];
}

std::vector<uint8_t> Kv(std::string_view key, uint32_t type, const Enc& value) {
  return Enc().Str(key).U32(type).Raw(value.bytes).bytes;
}

uint64_t AlignUp(uint64_t v, uint64_t a) { return v + (a - v % a) % a; }

std::vector<uint8_t> SerializeHeader(const RawGguf& g) {
  Enc e;
  e.Raw(g.magic).U32(g.version);
  e.U64(g.tensor_count.value_or(g.tensors.size())).U64(g.kv_count.value_or(g.kvs.size()));
  for (const auto& kv : g.kvs) e.Raw(kv);
  for (const RawTensor& t : g.tensors) {
    e.Str(t.name).U32(t.n_dims.value_or(static_cast<uint32_t>(t.ne.size())));
    for (uint64_t d : t.ne) e.U64(d);
    e.U32(t.type).U64(t.offset);
  }
  return e.bytes;
}

// A tensor that claims `bytes` bytes at `offset` with no data behind it.
RawTensor Phantom(std::string name, std::vector<uint64_t> ne, uint64_t bytes, uint64_t offset) {
  RawTensor t{std::move(name), std::move(ne), kGgmlF32, bytes};
  t.offset = offset;
  return t;
}

// Defects that change the parts before serialisation.
void ApplyToParts(GgufDefect d, RawGguf& g) {
  switch (d) {
    case GgufDefect::kBadMagic: g.magic = "GGML"; break;
    case GgufDefect::kVersion0: g.version = 0; break;
    case GgufDefect::kVersion1: g.version = 1; break;
    case GgufDefect::kVersion4: g.version = 4; break;
    case GgufDefect::kVersionByteSwapped: g.version = 0x03000000; break;
    case GgufDefect::kHugeTensorCount: g.tensor_count = UINT64_MAX; break;
    case GgufDefect::kHugeKvCount: g.kv_count = 1ull << 62; break;
    case GgufDefect::kKeyLengthBeyondFile:
      g.kvs.insert(g.kvs.begin(), Enc().U64(1ull << 40).Raw("general.x").U32(kU32).U32(1).bytes);
      break;
    case GgufDefect::kKeyLongerThanSpecLimit:
      g.kvs.push_back(KvU32(std::string(65536, 'k'), 1));
      break;
    case GgufDefect::kStringLengthBeyondFile:
      g.kvs[0] = Kv("general.architecture", kStr, Enc().U64(1ull << 63).Raw("llama"));
      break;
    case GgufDefect::kArrayCountTimesSizeWraps:
      g.kvs[2] = Kv("tokenizer.ggml.scores", kArr, Enc().U32(kF32v).U64((1ull << 62) + 1).U32(0));
      break;
    case GgufDefect::kArrayCountBeyondFile:
      g.kvs.push_back(Kv("general.ids", kArr, Enc().U32(kU64).U64(1ull << 20).U64(7)));
      break;
    case GgufDefect::kStringArrayCountBeyondFile:
      g.kvs[3] = Kv("tokenizer.ggml.tokens", kArr, Enc().U32(kStr).U64(1ull << 40).Str("a"));
      break;
    case GgufDefect::kNestedArrayBomb: {
      Enc bomb;
      for (int i = 0; i < 10000; ++i) bomb.U32(kArr).U64(1);
      bomb.U32(kU32).U64(0);
      g.kvs.push_back(Kv("general.bomb", kArr, bomb));
      break;
    }
    case GgufDefect::kInvalidValueType: g.kvs.push_back(Kv("general.x", 13, Enc().U32(1))); break;
    case GgufDefect::kInvalidArrayElementType:
      g.kvs.push_back(Kv("general.x", kArr, Enc().U32(0xFFFFFFFF).U64(0)));
      break;
    case GgufDefect::kBoolNotZeroOrOne: g.kvs[5] = Kv("llama.flag", kBool, Enc().U8(2)); break;
    case GgufDefect::kEmptyKey: g.kvs.push_back(KvU32("", 1)); break;
    case GgufDefect::kKeyWithControlByte: g.kvs.push_back(KvU32("general.na\nme", 1)); break;
    case GgufDefect::kStringNotUtf8: g.kvs[4] = KvString("general.name", "bad \xc3\x28"); break;
    case GgufDefect::kDuplicateKey: g.kvs.push_back(KvString("general.architecture", "gpt2")); break;
    case GgufDefect::kAlignmentZero: g.kvs.push_back(KvU32("general.alignment", 0)); break;
    case GgufDefect::kAlignmentNotPowerOfTwo: g.kvs.push_back(KvU32("general.alignment", 3)); break;
    case GgufDefect::kAlignmentWrongType:
      g.kvs.push_back(Kv("general.alignment", kU64, Enc().U64(32)));
      break;
    case GgufDefect::kEmptyTensorName: g.tensors[0].name = ""; break;
    case GgufDefect::kTensorNameTooLong: g.tensors[0].name = std::string(64, 'x'); break;
    case GgufDefect::kDuplicateTensorName: g.tensors[2].name = g.tensors[0].name; break;
    case GgufDefect::kNDims5: g.tensors[0].ne = {8, 4, 1, 1, 1}; break;
    case GgufDefect::kNDimsHuge: g.tensors[0].n_dims = 0xFFFFFFFF; break;
    case GgufDefect::kNegativeDim: g.tensors[0].ne = {8, 1ull << 63}; break;
    case GgufDefect::kElementCountWrapsToZero: g.tensors[0].ne = {1ull << 32, 1ull << 32}; break;
    case GgufDefect::kElementCountAboveInt64: g.tensors[0].ne = {1ull << 62, 2}; break;
    case GgufDefect::kByteSizeWrapsToZero: g.tensors[0].ne = {1ull << 62}; break;
    case GgufDefect::kUnknownGgmlType: g.tensors[1].type = 4; break;
    case GgufDefect::kNegativeGgmlType: g.tensors[1].type = 0xFFFFFFFF; break;
    case GgufDefect::kRowNotMultipleOfBlock: g.tensors[1].ne = {33, 2}; break;
    case GgufDefect::kOffsetWithGap: g.tensors[1].offset += 32; break;
    case GgufDefect::kOffsetOverlapping: g.tensors[1].offset = 0; break;
    case GgufDefect::kOffsetMisaligned: g.tensors[1].offset += 4; break;
    case GgufDefect::kDataSizeWraps:
      // Four F32 tensors of 2^62 bytes at offsets 0, 2^62, 2^63, 3·2^62: each offset is the
      // running one, and the fourth brings the running total to 2^64.
      g.tensors.clear();
      for (uint64_t i = 0; i < 4; ++i) {
        g.tensors.push_back(Phantom("t" + std::to_string(i), {1ull << 60}, 1ull << 62,
                                    i << 62));
      }
      g.data.clear();
      break;
    case GgufDefect::kDataEndWraps:
      // One F32 tensor of 2^64 − 64 bytes: no sum wraps, but data offset + size would.
      g.tensors = {Phantom("t", {(1ull << 62) - 16}, UINT64_MAX - 63, 0)};
      g.data.clear();
      break;
    default: break;
  }
}

// Defects that edit the serialised bytes.
void ApplyToBytes(GgufDefect d, const RawGguf& g, std::vector<uint8_t>& b) {
  const uint64_t header_end = SerializeHeader(g).size();
  const uint64_t data_offset = AlignUp(header_end, g.alignment);
  switch (d) {
    case GgufDefect::kTruncatedHeader: b.resize(12); break;
    case GgufDefect::kTruncatedData: b.resize(b.size() - 40); break;
    case GgufDefect::kMissingLastPadding: b.resize(b.size() - 8); break;
    case GgufDefect::kTrailingBytes: b.insert(b.end(), 32, 0); break;
    case GgufDefect::kNonZeroTensorPadding:
      b[data_offset + g.tensors[1].offset + g.tensors[1].data_bytes] = 0xAA;
      break;
    case GgufDefect::kNonZeroHeaderPadding:
      assert(data_offset > header_end && "the base file must have header padding");
      b[header_end] = 0x01;
      break;
    default: break;
  }
}

}  // namespace

std::vector<GgufDefect> AllGgufDefects() {
  std::vector<GgufDefect> out;
  for (const DefectRow& r : kRows) out.push_back(r.defect);
  return out;
}

std::string_view GgufDefectName(GgufDefect defect) { return Row(defect).name; }

GgufRefusal ExpectedRefusal(GgufDefect defect) {
  const DefectRow& r = Row(defect);
  return {r.code, std::string(r.substring)};
}

std::vector<uint8_t> KvString(std::string_view key, std::string_view value) {
  return Kv(key, kStr, Enc().Str(value));
}

std::vector<uint8_t> KvU32(std::string_view key, uint32_t value) {
  return Kv(key, kU32, Enc().U32(value));
}

void LayOut(RawGguf& g) {
  g.data.clear();
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    RawTensor& t = g.tensors[i];
    t.offset = g.data.size();
    for (uint64_t k = 0; k < t.data_bytes; ++k) {
      g.data.push_back(static_cast<uint8_t>(1 + i * 37 + k * 7));  // never 0: padding stands out
    }
    g.data.resize(AlignUp(g.data.size(), g.alignment), 0);
  }
}

std::vector<uint8_t> Serialize(const RawGguf& g) {
  std::vector<uint8_t> b = SerializeHeader(g);
  b.resize(AlignUp(b.size(), g.alignment), 0);
  b.insert(b.end(), g.data.begin(), g.data.end());
  return b;
}

RawGguf ValidRawGguf() {
  RawGguf g;
  g.kvs.push_back(KvString("general.architecture", "llama"));
  g.kvs.push_back(KvU32("llama.block_count", 2));
  g.kvs.push_back(Kv("tokenizer.ggml.scores", kArr,
                     Enc().U32(kF32v).U64(3).U32(0x3F000000).U32(0xBF800000).U32(0x40100000)));
  g.kvs.push_back(Kv("tokenizer.ggml.tokens", kArr,
                     Enc().U32(kStr).U64(3).Str("<s>").Str("hello").Str("w\xc3\xb6rld")));
  g.kvs.push_back(KvString("general.name", "corpus base"));
  g.kvs.push_back(Kv("llama.flag", kBool, Enc().U8(1)));
  g.tensors.push_back({"token_embd.weight", {8, 4}, kGgmlF32, 8 * 4 * 4});
  g.tensors.push_back({"blk.0.ffn_down.weight", {64, 2}, kGgmlQ8_0, 2 * 2 * 34});
  g.tensors.push_back({"output_norm.weight", {6}, kGgmlF32, 6 * 4});
  LayOut(g);
  return g;
}

std::vector<uint8_t> MakeValidGguf() { return Serialize(ValidRawGguf()); }

std::vector<uint8_t> MakeGgufWithDefect(GgufDefect defect) {
  RawGguf g = ValidRawGguf();
  ApplyToParts(defect, g);
  std::vector<uint8_t> bytes = Serialize(g);
  ApplyToBytes(defect, g, bytes);
  return bytes;
}

}  // namespace moedist::gguf_corpus
