// A generated corpus of malformed GGUF files: one enum value per defect of reliability.md rows
// 12–15 and of the patterns of the published GGUF parser bugs named there (huge counts, lengths,
// n_dims and count × size products: CVE-2024-21802, CVE-2024-23605; a data-size sum that wraps:
// CVE-2025-53630 and its bypass CVE-2026-27940), each made from a small valid file by applying
// exactly that one defect, plus the refusal the reader must give (status code and a
// defect-specific message substring).
//
// Files are assembled byte by byte with RawGguf, not with formats/gguf_writer.h, so defects the
// writer refuses to produce (lying lengths, duplicate keys, wrapped sizes) can be made, and so
// the valid base file does not depend on the code under test. Used by gguf_corpus_test.cpp, the
// fuzz seed corpus (tests/fuzz/corpus/gguf/) and the ASan/UBSan build.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace moedist::gguf_corpus {

enum class GgufDefect {
  // framing and header (row 12)
  kTruncatedHeader,
  kBadMagic,
  kVersion0,
  kVersion1,
  kVersion4,
  kVersionByteSwapped,
  // counts and lengths larger than the bytes left (row 13)
  kHugeTensorCount,
  kHugeKvCount,
  kKeyLengthBeyondFile,
  kKeyLongerThanSpecLimit,
  kStringLengthBeyondFile,
  kArrayCountTimesSizeWraps,  // count × element size wraps 64 bits
  kArrayCountBeyondFile,
  kStringArrayCountBeyondFile,
  kNestedArrayBomb,
  // metadata values and keys
  kInvalidValueType,
  kInvalidArrayElementType,
  kBoolNotZeroOrOne,
  kEmptyKey,
  kKeyWithControlByte,
  kStringNotUtf8,
  kDuplicateKey,
  // alignment (row 15)
  kAlignmentZero,
  kAlignmentNotPowerOfTwo,
  kAlignmentWrongType,
  // tensor infos (row 14)
  kEmptyTensorName,
  kTensorNameTooLong,
  kDuplicateTensorName,
  kNDims5,
  kNDimsHuge,  // 0xFFFFFFFF: an unchecked n_dims writes past ne[4]
  kNegativeDim,
  kElementCountWrapsToZero,  // ne [2^32, 2^32]: the product wraps to exactly 0
  kElementCountAboveInt64,
  kByteSizeWrapsToZero,  // F32 ne [2^62]: 2^64 bytes wraps to exactly 0
  kUnknownGgmlType,
  kNegativeGgmlType,
  kRowNotMultipleOfBlock,
  // offsets and data (row 15, and safetensors rows 5–7 carried over)
  kOffsetWithGap,
  kOffsetOverlapping,
  kOffsetMisaligned,
  kDataSizeWraps,       // CVE-2025-53630 pattern: the sum of padded sizes wraps 64 bits
  kDataEndWraps,        // its bypass (CVE-2026-27940): data offset + data size wraps 64 bits
  kTruncatedData,
  kMissingLastPadding,
  kTrailingBytes,
  kNonZeroTensorPadding,  // polyglot: bytes hidden in padding
  kNonZeroHeaderPadding,
};

std::vector<GgufDefect> AllGgufDefects();
std::string_view GgufDefectName(GgufDefect defect);

struct GgufRefusal {
  StatusCode code;
  std::string message_substring;  // defect-specific
};
GgufRefusal ExpectedRefusal(GgufDefect defect);

// The valid base file the defects start from: five metadata pairs (string, u32, f32 array,
// string array, bool) and three tensors (F32 [8, 4], Q8_0 [64, 2], F32 [6]) at alignment 32.
std::vector<uint8_t> MakeValidGguf();
std::vector<uint8_t> MakeGgufWithDefect(GgufDefect defect);

// Little-endian byte assembly for hand-made files.
class Enc {
 public:
  Enc& U8(uint8_t v) { return Le(v, 1); }
  Enc& U32(uint32_t v) { return Le(v, 4); }
  Enc& U64(uint64_t v) { return Le(v, 8); }
  Enc& Str(std::string_view s) { return U64(s.size()).Raw(s); }
  Enc& Raw(std::string_view s) {
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  Enc& Raw(const std::vector<uint8_t>& b) {
    bytes.insert(bytes.end(), b.begin(), b.end());
    return *this;
  }
  Enc& Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::vector<uint8_t> bytes;
};

// A GGUF file as parts; Serialize() writes them in order with no checks at all.
struct RawTensor {
  std::string name;
  std::vector<uint64_t> ne;
  uint32_t type;
  uint64_t data_bytes;   // exact size (stated, not computed by the code under test)
  uint64_t offset = 0;   // filled by LayOut(), then free to be broken
  std::optional<uint32_t> n_dims;  // overrides ne.size() on disk
};
struct RawGguf {
  std::string magic = "GGUF";
  uint32_t version = 3;
  std::optional<uint64_t> tensor_count;  // overrides tensors.size()
  std::optional<uint64_t> kv_count;      // overrides kvs.size()
  std::vector<std::vector<uint8_t>> kvs;  // each: key, type, value, already encoded
  std::vector<RawTensor> tensors;
  uint32_t alignment = 32;  // used for padding only; general.alignment is an ordinary kv
  std::vector<uint8_t> data;  // the data section, filled by LayOut()
};
// Sets each tensor's offset to the running aligned offset and fills `data` with a byte pattern
// per tensor and zero padding after each (the last included).
void LayOut(RawGguf& g);
std::vector<uint8_t> Serialize(const RawGguf& g);
RawGguf ValidRawGguf();  // MakeValidGguf() as parts, laid out

// Encoded key/value pairs.
std::vector<uint8_t> KvString(std::string_view key, std::string_view value);
std::vector<uint8_t> KvU32(std::string_view key, uint32_t value);

}  // namespace moedist::gguf_corpus
