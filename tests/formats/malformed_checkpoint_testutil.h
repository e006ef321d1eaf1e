// A generated corpus of malformed Hugging Face checkpoints: one enum value per defect of
// reliability.md rows 1–11, each written by copying a good hf-tiny fixture and applying exactly
// that one defect, plus the expectation both the library test and the CLI test assert (which
// stage refuses it, a defect-specific substring of the message, what the message must name, and
// the exit code of `moedist inspect`).
//
// Headers are edited as bytes (8-byte length, JSON text, data kept) so defects the writer would
// refuse to produce (duplicate keys, overlaps, overflowing shapes) can be made; tensor-level
// defects rewrite a shard with formats/safetensors_writer.h and keep the index consistent.
// Used by tests/formats/malformed_checkpoint_test.cpp and tests/apps/inspect_cli_test.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "core/status.h"

namespace moedist::corpus {

enum class CheckpointDefect {
  // safetensors framing and header (rows 1–3)
  kFileShorterThan8Bytes,
  kHeaderLengthOverCap,  // > 100 MB (a sparse file large enough to hold it)
  kHeaderLengthBeyondFile,
  kHeaderLengthOverflow,  // 0xFFFFFFFFFFFFFFFF: N + 8 wraps
  kHeaderNotStartingWithBrace,
  kHeaderIsJsonArray,
  kHeaderNotUtf8,
  kHeaderNotJson,
  kTensorEntryNotObject,
  kUnknownDtype,
  kMetadataNotObject,
  kNonStringMetadataValue,
  kDuplicateTensorName,
  kExtraFieldInTensorEntry,
  // shape arithmetic and offsets (rows 4–7)
  kElementCountOverflow,
  kByteCountOverflowWraps,  // shape × dtype wraps to exactly the span on disk
  kNegativeShape,
  kNonIntegerShape,
  kOffsetsEndBeforeBegin,
  kGapBetweenTensors,
  kOverlappingTensors,
  kSpanDisagreesWithShape,
  kTrailingBytes,
  kTruncatedData,
  // index and shard set (row 9)
  kIndexNamesMissingShard,
  kIndexTensorAbsentFromShard,
  kTensorInTwoShards,
  kShardTensorNotInIndex,
  kIndexShardPathTraversal,
  kIndexShardAbsolutePath,
  kIndexNotJson,
  kIndexMissingWeightMap,
  // config.json (row 10)
  kConfigMissing,
  kConfigNotJson,
  kConfigMissingNumExperts,
  kConfigNumExpertsNotInteger,
  kConfigContradictoryExpertCounts,  // gpt_oss: num_local_experts vs num_experts
  kConfigTopKExceedsExperts,
  kConfigHeadsNotMultipleOfKvHeads,
  kConfigUnknownModelType,
  // tensors against the config (rows 10–11)
  kUnknownTensorName,
  kExpertIndexOutOfRange,
  kLayerIndexOutOfRange,
  kRouterShapeMismatch,  // [E+1, H]
  kExpertShapeMismatch,  // moe_intermediate_size disagrees
  kExpertProjectionMissing,
  kLlama4PackedExpertAxisMismatch,
  kLlama4PackedDownMissing,
  kDeepseekRouterInDenseLayer,
  kDeepseekCorrectionBiasShape,
  // row 8's policy: accepted, with an empty view
  kZeroSizeTensorSharingOffset,
};

// Where the defect is refused.
enum class DefectStage {
  kOpen,          // Checkpoint::Open fails
  kInventory,     // Open succeeds, InventoryCheckpoint fails
  kUnclassified,  // InventoryCheckpoint succeeds with the tensor in `unclassified`
  kAccepted,      // a positive case: both succeed
};

struct DefectCase {
  CheckpointDefect defect;
  std::string name;    // test name
  std::string family;  // hf-tiny fixture it starts from
  DefectStage stage;
  std::string reason;  // defect-specific substring of the message
  // Files, tensors or fields the message must name; "{dir}" stands for the checkpoint directory.
  std::vector<std::string> names;
  int exit_code;  // `moedist inspect`: 0 ok, 3 bad input, 4 missing file
};

// gtest prints a parameter by its name.
inline void PrintTo(const DefectCase& c, std::ostream* os) {
  *os << c.name;
}

// Every defect, in enum order; the test suites are parameterised over this list.
const std::vector<DefectCase>& AllDefectCases();
const DefectCase& CaseFor(CheckpointDefect defect);
// `c.names` with "{dir}" replaced by `dir`.
std::vector<std::string> ExpectedNames(const DefectCase& c, const std::string& dir);

std::string FixtureDir(const std::string& family);  // tests/fixtures/hf-tiny/<family>
// Copies config.json, the index and its shards of `family` into `out_dir` (created), writable.
Status CopyFixture(const std::string& family, const std::string& out_dir);
// Copies the defect's fixture into `out_dir` and applies exactly that defect.
Status WriteMalformedCheckpoint(CheckpointDefect defect, const std::string& out_dir);

// A fresh directory under the system temp dir; removed by ~ScopedTempDir.
class ScopedTempDir {
 public:
  explicit ScopedTempDir(const std::string& tag);
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Byte-level helpers, also used by the zero-size test.
Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path);
Status WriteFileBytes(const std::string& path, const std::vector<uint8_t>& bytes);
// Rewrites a safetensors file's header text with `edit`, keeping the data section and fixing
// the 8-byte length.
Status EditShardHeaderText(const std::string& path,
                           const std::function<Status(std::string& header)>& edit);
// Same, through an order-preserving JSON value (for edits that keep the JSON well-formed).
Status EditShardHeaderJson(const std::string& path,
                           const std::function<Status(nlohmann::ordered_json& header)>& edit);

}  // namespace moedist::corpus
