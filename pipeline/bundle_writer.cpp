#include "pipeline/bundle_writer.h"

#include <algorithm>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "formats/hf_checkpoint.h"
#include "formats/safetensors_reader.h"
#include "formats/safetensors_writer.h"
#include "manifest/file_digest.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

// Gathers small writes into 1 MiB before they reach the file.
class BufferedSink final : public ByteSink {
 public:
  explicit BufferedSink(ByteSink& next) : next_(next) { buffer_.reserve(kCapacity); }
  Status Write(std::span<const uint8_t> bytes) override {
    if (buffer_.size() + bytes.size() > kCapacity) RETURN_IF_ERROR(Flush());
    if (bytes.size() >= kCapacity) return next_.Write(bytes);
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    return Status::Ok();
  }
  Status Flush() {
    if (buffer_.empty()) return Status::Ok();
    Status st = next_.Write(buffer_);
    buffer_.clear();
    return st;
  }

 private:
  static constexpr size_t kCapacity = size_t{1} << 20;
  ByteSink& next_;
  std::vector<uint8_t> buffer_;
};

std::string BundlePath(const std::string& dist, const BundlePlan& plan, const std::string& file) {
  return (fs::path(dist) / plan.name / file).string();
}

std::string ShapeText(const std::vector<uint64_t>& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

}  // namespace

const BundleTensor* BundlePlan::Find(std::string_view tensor) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), tensor,
                             [](const BundleTensor& t, std::string_view n) { return t.name < n; });
  return it != tensors.end() && it->name == tensor ? &*it : nullptr;
}

uint64_t BundlePlan::total_bytes() const {
  uint64_t total = 0;
  for (const BundleTensor& t : tensors) total += t.bytes;
  return total;
}

std::string ShardFileName(size_t index, size_t count) {
  return fmt::format("model-{:05d}-of-{:05d}.safetensors", index + 1, count);
}

static Status SortAndCheck(BundlePlan& plan) {
  std::sort(plan.tensors.begin(), plan.tensors.end(),
            [](const BundleTensor& a, const BundleTensor& b) { return a.name < b.name; });
  for (size_t i = 1; i < plan.tensors.size(); ++i) {
    if (plan.tensors[i].name == plan.tensors[i - 1].name) {
      return Status::Internal("bundle {}: tensor \"{}\" planned twice", plan.name,
                              plan.tensors[i].name);
    }
  }
  if (plan.tensors.empty()) return Status::Internal("bundle {}: no tensors", plan.name);
  return Status::Ok();
}

static void IndexShards(BundlePlan& plan) {
  plan.shard_of.clear();
  for (size_t s = 0; s < plan.shards.size(); ++s) {
    for (size_t i : plan.shards[s].tensors) plan.shard_of[plan.tensors[i].name] = s;
  }
}

Status AssignShards(BundlePlan& plan, uint64_t shard_bytes) {
  RETURN_IF_ERROR(SortAndCheck(plan));
  plan.shards.clear();
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    const uint64_t b = plan.tensors[i].bytes;
    if (plan.shards.empty() || (!plan.shards.back().tensors.empty() &&
                                plan.shards.back().tensor_bytes + b > shard_bytes)) {
      plan.shards.emplace_back();
    }
    plan.shards.back().tensors.push_back(i);
    plan.shards.back().tensor_bytes += b;
  }
  for (size_t s = 0; s < plan.shards.size(); ++s) {
    plan.shards[s].file = ShardFileName(s, plan.shards.size());
  }
  IndexShards(plan);
  return Status::Ok();
}

Status AssignSingleShard(BundlePlan& plan, std::string file) {
  RETURN_IF_ERROR(SortAndCheck(plan));
  BundleShard shard{std::move(file)};
  for (size_t i = 0; i < plan.tensors.size(); ++i) {
    shard.tensors.push_back(i);
    shard.tensor_bytes += plan.tensors[i].bytes;
  }
  plan.shards = {std::move(shard)};
  IndexShards(plan);
  return Status::Ok();
}

std::map<std::string, std::string> ShardMetadata(const BundlePlan& plan, const BundleShard& shard) {
  std::map<std::string, std::string> meta = {{"format", "pt"}, {"moedist.bundle", plan.name}};
  for (size_t i : shard.tensors) {
    const BundleTensor& t = plan.tensors[i];
    if (!t.quant.empty()) meta[std::string(kQuantMetadataPrefix) + t.name] = t.quant;
  }
  return meta;
}

std::string BundleIndexText(const BundlePlan& plan) {
  nlohmann::json wm = nlohmann::json::object();
  for (const BundleTensor& t : plan.tensors)
    wm[t.name] = plan.shards[plan.shard_of.at(t.name)].file;
  nlohmann::json j = {{"metadata", {{"total_size", plan.total_bytes()}}}, {"weight_map", wm}};
  return DumpJsonStable(j) + "\n";
}

Result<WrittenFile> WriteBundleShard(const std::string& dist, const BundlePlan& plan,
                                     const BundleShard& shard) {
  const std::string path = BundlePath(dist, plan, shard.file);
  std::vector<SafetensorsSource> sources;
  for (size_t i : shard.tensors) {
    const BundleTensor& t = plan.tensors[i];
    sources.push_back({t.name, t.dtype, t.shape, t.produce});
  }
  ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path));
  BufferedSink buffered(file);
  HashingSink hashing(&buffered);
  RETURN_IF_ERROR(
      WriteSafetensors(std::move(sources), ShardMetadata(plan, shard), hashing).WithContext(path));
  RETURN_IF_ERROR(buffered.Flush());
  RETURN_IF_ERROR(file.Commit());
  ASSIGN_OR_RETURN(std::string digest, hashing.FinishHex());
  return WrittenFile{plan.name + "/" + shard.file, hashing.bytes_written(), std::move(digest),
                     file.stamp()};
}

Result<WrittenFile> WriteReleaseTextFile(const std::string& dist, const std::string& relative,
                                         std::string_view content) {
  RETURN_IF_ERROR(WriteFileAtomically((fs::path(dist) / relative).string(), content));
  ASSIGN_OR_RETURN(std::string digest, Sha256Hex(content));
  return WrittenFile{relative, content.size(), std::move(digest)};
}

Status CheckBundleShard(const std::string& dist, const BundlePlan& plan, const BundleShard& shard) {
  const std::string path = BundlePath(dist, plan, shard.file);
  ASSIGN_OR_RETURN(std::shared_ptr<const SafetensorsFile> file, SafetensorsFile::Open(path));
  if (file->tensors().size() != shard.tensors.size()) {
    return Status::Corruption("{}: re-read finds {} tensors, wrote {}", path,
                              file->tensors().size(), shard.tensors.size());
  }
  for (size_t i : shard.tensors) {
    const BundleTensor& t = plan.tensors[i];
    const SafetensorsTensor* got = file->Find(t.name);
    if (got == nullptr || got->dtype != t.dtype || got->shape != t.shape ||
        got->num_bytes() != t.bytes) {
      return Status::Corruption(
          "{}: re-read of tensor \"{}\" does not match what was written "
          "({} {}, {} bytes)",
          path, t.name, DTypeName(t.dtype), ShapeText(t.shape), t.bytes);
    }
  }
  if (file->metadata() != ShardMetadata(plan, shard)) {
    return Status::Corruption("{}: re-read __metadata__ differs from what was written", path);
  }
  return Status::Ok();
}

Status CheckBundleIndex(const std::string& dist, const BundlePlan& plan) {
  const std::string path = BundlePath(dist, plan, std::string(kBundleIndexFile));
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, 64ull << 20));
  ASSIGN_OR_RETURN(CheckpointIndex index, ParseCheckpointIndex(text, path));
  size_t listed = 0;
  for (const auto& [file, names] : index.tensors_by_shard) {
    for (const std::string& name : names) {
      auto it = plan.shard_of.find(name);
      if (it == plan.shard_of.end() || plan.shards[it->second].file != file) {
        return Status::Corruption("{}: assigns \"{}\" to {}, which pack did not write there", path,
                                  name, file);
      }
      ++listed;
    }
  }
  if (listed != plan.tensors.size() || index.total_size != plan.total_bytes()) {
    return Status::Corruption("{}: lists {} tensors of {} bytes, pack wrote {} of {}", path, listed,
                              index.total_size.value_or(0), plan.tensors.size(),
                              plan.total_bytes());
  }
  return Status::Ok();
}

}  // namespace moedist
