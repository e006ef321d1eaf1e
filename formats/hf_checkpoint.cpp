#include "formats/hf_checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/json_strict.h"
#include "core/mapped_file.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxIndexBytes = 64ull << 20;
constexpr size_t kMaxShards = 100000;

// A shard name from an index must be a plain file name inside the checkpoint directory.
Status CheckShardName(const std::string& name, const std::string& index_path) {
  if (name.empty() || name.find('/') != std::string::npos ||
      name.find('\\') != std::string::npos || name == "." || name == ".." ||
      name.find('\0') != std::string::npos) {
    return Status::Corruption("{}: weight_map names shard \"{}\", expected a plain file name in "
                              "the checkpoint directory",
                              index_path, name);
  }
  return Status::Ok();
}

struct IndexContents {
  std::map<std::string, std::vector<std::string>> tensors_by_shard;
  std::optional<uint64_t> total_size;
};

Result<IndexContents> ReadIndex(const std::string& index_path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(index_path, kMaxIndexBytes));
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJsonStrict(text, index_path));
  if (!root.is_object()) return Status::Corruption("{}: not a JSON object", index_path);
  auto wm = root.find("weight_map");
  if (wm == root.end() || !wm->is_object()) {
    return Status::Corruption("{}: missing \"weight_map\" object", index_path);
  }
  IndexContents out;
  for (const auto& [tensor, shard] : wm->items()) {
    if (!shard.is_string()) {
      return Status::Corruption("{}: weight_map[\"{}\"] is {}, expected a shard file name",
                                index_path, tensor, shard.dump());
    }
    std::string shard_name = shard.get<std::string>();
    RETURN_IF_ERROR(CheckShardName(shard_name, index_path));
    out.tensors_by_shard[shard_name].push_back(tensor);
    if (out.tensors_by_shard.size() > kMaxShards) {
      return Status::Corruption("{}: more than {} shards", index_path, kMaxShards);
    }
  }
  if (out.tensors_by_shard.empty()) {
    return Status::Corruption("{}: \"weight_map\" is empty", index_path);
  }
  auto meta = root.find("metadata");
  if (meta != root.end() && meta->is_object() && meta->contains("total_size")) {
    const auto& ts = (*meta)["total_size"];
    if (ts.is_number_unsigned() || (ts.is_number_integer() && ts.get<int64_t>() >= 0)) {
      out.total_size = ts.get<uint64_t>();
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::NotFound("{}: not a checkpoint directory (expected config.json and "
                            "safetensors files)",
                            dir);
  }
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->dir_ = dir;
  ASSIGN_OR_RETURN(ckpt->config_, LoadModelConfig(dir));

  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  const std::string single_path = (fs::path(dir) / "model.safetensors").string();
  if (fs::exists(index_path, ec)) {
    ASSIGN_OR_RETURN(IndexContents index, ReadIndex(index_path));
    std::vector<std::string> names;
    for (const auto& [shard, _] : index.tensors_by_shard) names.push_back(shard);
    RETURN_IF_ERROR(ckpt->LoadShards(&index.tensors_by_shard, names));
    if (index.total_size && *index.total_size != ckpt->total_tensor_bytes_) {
      ckpt->warnings_.push_back(fmt::format("{}: metadata.total_size is {} but the tensors hold "
                                            "{} bytes",
                                            index_path, *index.total_size,
                                            ckpt->total_tensor_bytes_));
    }
  } else if (fs::exists(single_path, ec)) {
    RETURN_IF_ERROR(ckpt->LoadShards(nullptr, {"model.safetensors"}));
  } else {
    return Status::NotFound("{}: neither model.safetensors.index.json nor model.safetensors "
                            "found",
                            dir);
  }
  return ckpt;
}

Status Checkpoint::LoadShards(
    const std::map<std::string, std::vector<std::string>>* index_by_shard,
    const std::vector<std::string>& shard_names) {
  const std::string index_path = (fs::path(dir_) / "model.safetensors.index.json").string();
  std::map<std::string, std::string, std::less<>> shard_of;  // tensor -> shard that holds it
  for (const std::string& shard_name : shard_names) {
    const std::string path = (fs::path(dir_) / shard_name).string();
    auto shard = SafetensorsFile::Open(path);
    if (!shard.ok()) {
      if (shard.status().code() == StatusCode::kNotFound && index_by_shard) {
        return Status::Corruption("{}: names shard \"{}\", which does not exist", index_path,
                                  shard_name);
      }
      return shard.status();
    }
    std::shared_ptr<const SafetensorsFile> file = std::move(shard).value();
    // Every tensor in the shard must be one the index assigns to this shard.
    std::set<std::string, std::less<>> listed;
    if (index_by_shard) {
      const auto& names = index_by_shard->at(shard_name);
      listed.insert(names.begin(), names.end());
    }
    for (const SafetensorsTensor& t : file->tensors()) {
      auto [it, inserted] = shard_of.emplace(t.name, shard_name);
      if (!inserted) {
        return Status::Corruption("tensor \"{}\" is in two shards: {} and {}", t.name,
                                  it->second, shard_name);
      }
      if (index_by_shard && !listed.count(t.name)) {
        return Status::Corruption("{}: shard {} holds tensor \"{}\", which the index does not "
                                  "assign to it",
                                  index_path, shard_name, t.name);
      }
      tensors_.push_back({t.name, file, &t});
      total_tensor_bytes_ += t.num_bytes();
    }
    // Every tensor the index assigns to this shard must be in it.
    for (const std::string& name : listed) {
      if (file->Find(name) == nullptr) {
        return Status::Corruption("{}: assigns tensor \"{}\" to {}, which does not contain it",
                                  index_path, name, shard_name);
      }
    }
    shards_.push_back(std::move(file));
  }
  std::sort(tensors_.begin(), tensors_.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (size_t i = 0; i < tensors_.size(); ++i) by_name_[tensors_[i].name] = i;
  return Status::Ok();
}

const CheckpointTensor* Checkpoint::Find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace moedist
