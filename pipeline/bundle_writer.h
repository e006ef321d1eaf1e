// Bundle writer: one directory of a release as sharded safetensors plus
// model.safetensors.index.json (docs/formats/bundle.md).
//
// A BundlePlan lists every tensor (stored name, dtype, shape, byte count, the moedist.quant
// metadata of block-quantized tensors, and a producer that streams the bytes) before anything
// is written, so shard boundaries, file names and the index are known up front and a node's
// index can name another bundle's shards. Tensors are sorted by name and cut into shards in that
// order; the same plan always gives the same bytes. Each shard is published atomically
// (core/atomic_file.h) and hashed while it is written; CheckBundleShard re-reads it with the
// strict safetensors reader (reliability row 16). Thread safety: a plan is read-only while
// shards are written, so different shards may be written on different threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_sink.h"
#include "core/file_stamp.h"
#include "core/status.h"
#include "quant/dtype.h"

namespace moedist {

inline constexpr std::string_view kBundleIndexFile = "model.safetensors.index.json";
inline constexpr std::string_view kQuantMetadataPrefix = "moedist.quant.";

struct BundleTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<uint64_t> shape;  // as the safetensors header states it (U8 [bytes] if quantized)
  uint64_t bytes = 0;
  std::string quant;  // moedist.quant.<name> value; empty for plain dtypes
  std::function<Status(ByteSink& sink)> produce;
};

struct BundleShard {
  std::string file;             // "model-00001-of-00003.safetensors"
  std::vector<size_t> tensors;  // indices into BundlePlan::tensors, in name order
  uint64_t tensor_bytes = 0;
};

struct BundlePlan {
  std::string name;  // directory: "trunk", "group-0", "overlay", "expert-3-17", "node-1"
  std::vector<BundleTensor> tensors;  // sorted by name after AssignShards
  std::vector<BundleShard> shards;
  std::map<std::string, size_t, std::less<>> shard_of;  // tensor name -> index into shards
  // Whether pack writes model.safetensors.index.json for it (not for expert-<l>-<e> bundles,
  // which only node indexes read).
  bool write_index = true;

  const BundleTensor* Find(std::string_view tensor) const;
  uint64_t total_bytes() const;
};

// "model-00001-of-00003.safetensors" (1-based, five digits as Hugging Face writes them).
std::string ShardFileName(size_t index, size_t count);

// Sorts the tensors, refuses duplicate names, and cuts them in name order into shards of at most
// `shard_bytes` tensor bytes (a larger tensor gets a shard of its own).
Status AssignShards(BundlePlan& plan, uint64_t shard_bytes);
// All tensors in one shard called `file` (a node's own small shard).
Status AssignSingleShard(BundlePlan& plan, std::string file);

// The shard's __metadata__: {"format": "pt", "moedist.bundle": <name>, "moedist.quant.<t>": ...}.
std::map<std::string, std::string> ShardMetadata(const BundlePlan& plan, const BundleShard& shard);
// model.safetensors.index.json: {"metadata": {"total_size"}, "weight_map"} with sorted keys.
std::string BundleIndexText(const BundlePlan& plan);

struct WrittenFile {
  std::string path;  // relative to the release directory: "trunk/model-00001-of-00002.safetensors"
  uint64_t size = 0;
  std::string sha256;
  FileStamp stamp;  // after publication; lets the manifest reuse the digest (build_distribution.h)
};

// Writes dist/<bundle>/<shard.file> atomically, hashing the bytes on the way.
Result<WrittenFile> WriteBundleShard(const std::string& dist, const BundlePlan& plan,
                                     const BundleShard& shard);
// Writes a small text file atomically and returns its digest.
Result<WrittenFile> WriteReleaseTextFile(const std::string& dist, const std::string& relative,
                                         std::string_view content);

// Re-opens the written shard with the strict reader and checks names, dtypes, shapes, sizes and
// metadata against the plan.
Status CheckBundleShard(const std::string& dist, const BundlePlan& plan, const BundleShard& shard);
// Re-reads dist/<bundle>/model.safetensors.index.json strictly and checks it names exactly the
// plan's tensors and shards.
Status CheckBundleIndex(const std::string& dist, const BundlePlan& plan);

}  // namespace moedist
