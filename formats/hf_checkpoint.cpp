#include "formats/hf_checkpoint.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/byte_sink.h"
#include "core/checked_math.h"
#include "core/json_strict.h"
#include "core/mapped_file.h"
#include "formats/safetensors_writer.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxIndexBytes = 64ull << 20;
constexpr size_t kMaxShards = 100000;

// A shard name from an index must be a plain file name inside the checkpoint directory.
Status CheckShardName(const std::string& name, const std::string& index_path) {
  if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos ||
      name == "." || name == ".." || name.find('\0') != std::string::npos) {
    return Status::Corruption(
        "{}: weight_map names shard \"{}\", expected a plain file name in "
        "the checkpoint directory",
        index_path, name);
  }
  return Status::Ok();
}

// Node indexes may also name a shard in a sibling bundle: "../<bundle>/<file>", each a plain
// component (docs/formats/bundle.md), so no spelling leaves the release directory. `where` names
// the index file and the field ("DIST/node-0/model.safetensors.index.json: weight_map[\"t\"]").
Status CheckNodeShardName(const std::string& name, const std::string& where) {
  bool ok = CheckShardName(name, where).ok();
  if (!ok && name.starts_with("../")) {
    const std::string rest = name.substr(3);
    const size_t slash = rest.find('/');
    ok = slash != std::string::npos && CheckShardName(rest.substr(0, slash), where).ok() &&
         CheckShardName(rest.substr(slash + 1), where).ok();
  }
  if (ok) return Status::Ok();
  return Status::Corruption(
      "{} names shard \"{}\", expected a plain file name or \"../<bundle>/<file>\" (a bundle "
      "directory beside the node, inside the release directory)",
      where, name);
}

constexpr std::string_view kAliasesKey = "moedist_aliases";
constexpr std::string_view kStacksKey = "moedist_stacks";

Result<uint64_t> ReadU64(const nlohmann::json& j, const std::string& where) {
  if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<int64_t>() >= 0)) {
    return Status::Corruption("{} is {}, expected a non-negative integer", where, j.dump());
  }
  return j.get<uint64_t>();
}

Result<CheckpointStack> ParseStack(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) return Status::Corruption("{}: expected an object", where);
  for (const auto& [key, _] : j.items()) {
    if (key != "dtype" && key != "shape" && key != "parts" && key != "metadata") {
      return Status::Corruption("{}: unknown field \"{}\"", where, key);
    }
  }
  CheckpointStack st;
  auto dtype = j.find("dtype");
  if (dtype == j.end() || !dtype->is_string() ||
      !DTypeFromSafetensorsName(dtype->get<std::string>())) {
    return Status::Corruption("{}: \"dtype\" missing or not a safetensors dtype", where);
  }
  st.dtype = *DTypeFromSafetensorsName(dtype->get<std::string>());
  auto shape = j.find("shape");
  if (shape == j.end() || !shape->is_array()) {
    return Status::Corruption("{}: \"shape\" missing or not a list", where);
  }
  for (const auto& d : *shape) {
    ASSIGN_OR_RETURN(uint64_t dim, ReadU64(d, where + ".shape[]"));
    st.shape.push_back(dim);
  }
  auto parts = j.find("parts");
  if (parts == j.end() || !parts->is_array() || parts->empty()) {
    return Status::Corruption("{}: \"parts\" missing or empty", where);
  }
  for (size_t i = 0; i < parts->size(); ++i) {
    const auto& pj = (*parts)[i];
    const std::string pw = fmt::format("{}.parts[{}]", where, i);
    if (!pj.is_object() || pj.size() != 4 || !pj.contains("shard") || !pj.contains("tensor") ||
        !pj.contains("begin") || !pj.contains("end") || !pj["shard"].is_string() ||
        !pj["tensor"].is_string()) {
      return Status::Corruption("{}: expected {{\"shard\", \"tensor\", \"begin\", \"end\"}}", pw);
    }
    CheckpointStackPart part{pj["shard"].get<std::string>(), pj["tensor"].get<std::string>()};
    RETURN_IF_ERROR(CheckNodeShardName(part.shard, pw));
    ASSIGN_OR_RETURN(part.begin, ReadU64(pj["begin"], pw + ".begin"));
    ASSIGN_OR_RETURN(part.end, ReadU64(pj["end"], pw + ".end"));
    if (part.end < part.begin) {
      return Status::Corruption("{}: end {} is before begin {}", pw, part.end, part.begin);
    }
    st.parts.push_back(std::move(part));
  }
  auto meta = j.find("metadata");
  if (meta != j.end()) {
    if (!meta->is_object()) return Status::Corruption("{}: \"metadata\" is not an object", where);
    for (const auto& [key, value] : meta->items()) {
      if (!value.is_string()) {
        return Status::Corruption("{}: metadata[\"{}\"] is not a string", where, key);
      }
      st.metadata[key] = value.get<std::string>();
    }
  }
  return st;
}

Result<CheckpointIndex> ParseIndex(std::string_view text, const std::string& index_path,
                                   bool node) {
  ASSIGN_OR_RETURN(nlohmann::json root, ParseJsonStrict(text, index_path));
  if (!root.is_object()) return Status::Corruption("{}: not a JSON object", index_path);
  for (const auto& [key, _] : root.items()) {
    if (!key.starts_with("moedist_")) continue;
    if (!node) {
      return Status::Corruption(
          "{}: uses the moedist node-index extension (\"{}\"); a node "
          "bundle opens only inside its release directory "
          "(CheckpointOpenOptions::release_root)",
          index_path, key);
    }
    if (key != kAliasesKey && key != kStacksKey) {
      return Status::Corruption("{}: unknown extension key \"{}\"", index_path, key);
    }
  }
  auto wm = root.find("weight_map");
  if (wm == root.end() || !wm->is_object()) {
    return Status::Corruption("{}: missing \"weight_map\" object", index_path);
  }
  CheckpointIndex out;
  for (const auto& [tensor, shard] : wm->items()) {
    if (!shard.is_string()) {
      return Status::Corruption("{}: weight_map[\"{}\"] is {}, expected a shard file name",
                                index_path, tensor, shard.dump());
    }
    std::string shard_name = shard.get<std::string>();
    RETURN_IF_ERROR(node ? CheckNodeShardName(shard_name, fmt::format("{}: weight_map[\"{}\"]",
                                                                      index_path, tensor))
                         : CheckShardName(shard_name, index_path));
    out.tensors_by_shard[shard_name].push_back(tensor);
    if (out.tensors_by_shard.size() > kMaxShards) {
      return Status::Corruption("{}: more than {} shards", index_path, kMaxShards);
    }
  }
  if (node) {
    auto aliases = root.find(std::string(kAliasesKey));
    if (aliases != root.end()) {
      if (!aliases->is_object()) {
        return Status::Corruption("{}: \"{}\" is not an object", index_path, kAliasesKey);
      }
      for (const auto& [exposed, stored] : aliases->items()) {
        if (!stored.is_string() || !wm->contains(exposed)) {
          return Status::Corruption(
              "{}: {}[\"{}\"] must be a tensor name and \"{}\" must be "
              "in weight_map",
              index_path, kAliasesKey, exposed, exposed);
        }
        out.aliases[exposed] = stored.get<std::string>();
      }
    }
    auto stacks = root.find(std::string(kStacksKey));
    if (stacks != root.end()) {
      if (!stacks->is_object()) {
        return Status::Corruption("{}: \"{}\" is not an object", index_path, kStacksKey);
      }
      for (const auto& [exposed, sj] : stacks->items()) {
        if (wm->contains(exposed)) {
          return Status::Corruption("{}: tensor \"{}\" is both in weight_map and in {}", index_path,
                                    exposed, kStacksKey);
        }
        ASSIGN_OR_RETURN(
            out.stacks[exposed],
            ParseStack(sj, fmt::format("{}: {}[\"{}\"]", index_path, kStacksKey, exposed)));
      }
    }
  }
  if (out.tensors_by_shard.empty() && out.stacks.empty()) {
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

// Collects a ByteSink's bytes in memory (the assembled stacks of a node index).
class VectorSink final : public ByteSink {
 public:
  explicit VectorSink(std::vector<uint8_t>* out) : out_(out) {}
  Status Write(std::span<const uint8_t> bytes) override {
    out_->insert(out_->end(), bytes.begin(), bytes.end());
    return Status::Ok();
  }

 private:
  std::vector<uint8_t>* out_;
};

// A node index entry must be a regular file reached without symlinks.
Status CheckNoSymlink(const fs::path& path, bool directory, const std::string& index_path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return Status::Corruption("{}: names {}, which does not exist", index_path, path.string());
  }
  if (S_ISLNK(st.st_mode)) {
    return Status::Corruption("{}: {} is a symbolic link; node bundles refuse links", index_path,
                              path.string());
  }
  if (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    return Status::Corruption("{}: {} is not a {}", index_path, path.string(),
                              directory ? "directory" : "regular file");
  }
  return Status::Ok();
}

}  // namespace

Status CheckpointTensor::CopyBytesTo(uint64_t offset, uint64_t length, ByteSink& sink) const {
  if (const auto& m = shard->mapping()) {
    return m->CopyTo(shard->data_offset() + info->data_begin + offset, length, sink);
  }
  return sink.Write(bytes().subspan(offset, length));
}

Result<CheckpointIndex> ParseCheckpointIndex(std::string_view text, const std::string& index_path) {
  return ParseIndex(text, index_path, /*node=*/false);
}

Result<CheckpointIndex> ParseNodeCheckpointIndex(std::string_view text,
                                                 const std::string& index_path) {
  return ParseIndex(text, index_path, /*node=*/true);
}

Result<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::NotFound(
        "{}: not a checkpoint directory (expected config.json and "
        "safetensors files)",
        dir);
  }
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->dir_ = dir;
  ASSIGN_OR_RETURN(ckpt->config_, LoadModelConfig(dir));

  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  const std::string single_path = (fs::path(dir) / "model.safetensors").string();
  if (fs::exists(index_path, ec)) {
    ASSIGN_OR_RETURN(std::string index_text, ReadSmallFile(index_path, kMaxIndexBytes));
    ASSIGN_OR_RETURN(CheckpointIndex index, ParseCheckpointIndex(index_text, index_path));
    std::vector<std::string> names;
    for (const auto& [shard, _] : index.tensors_by_shard) names.push_back(shard);
    RETURN_IF_ERROR(ckpt->LoadShards(&index.tensors_by_shard, names));
    if (index.total_size && *index.total_size != ckpt->total_tensor_bytes_) {
      ckpt->warnings_.push_back(
          fmt::format("{}: metadata.total_size is {} but the tensors hold "
                      "{} bytes",
                      index_path, *index.total_size, ckpt->total_tensor_bytes_));
    }
  } else if (fs::exists(single_path, ec)) {
    RETURN_IF_ERROR(ckpt->LoadShards(nullptr, {"model.safetensors"}));
  } else {
    return Status::NotFound(
        "{}: neither model.safetensors.index.json nor model.safetensors "
        "found",
        dir);
  }
  return ckpt;
}

Status Checkpoint::LoadShards(const std::map<std::string, std::vector<std::string>>* index_by_shard,
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
        return Status::Corruption("tensor \"{}\" is in two shards: {} and {}", t.name, it->second,
                                  shard_name);
      }
      if (index_by_shard && !listed.count(t.name)) {
        return Status::Corruption(
            "{}: shard {} holds tensor \"{}\", which the index does not "
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

Result<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& dir,
                                                     const CheckpointOpenOptions& options) {
  if (options.release_root.empty()) return Open(dir);
  std::error_code ec;
  const fs::path root = fs::canonical(options.release_root, ec);
  if (ec || !fs::is_directory(root)) {
    return Status::NotFound("{}: release directory not found", options.release_root);
  }
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::NotFound("{}: not a node bundle directory (a symbolic link is refused)", dir);
  }
  const fs::path node = fs::canonical(dir, ec);
  const fs::path rel = ec ? fs::path("..") : node.lexically_relative(root);
  if (rel.empty() || rel == "." || *rel.begin() == "..") {
    return Status::InvalidArgument("{}: node bundle is not inside the release directory {}", dir,
                                   options.release_root);
  }
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->dir_ = dir;
  ASSIGN_OR_RETURN(ckpt->config_, LoadModelConfig(dir));
  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  ASSIGN_OR_RETURN(std::string index_text, ReadSmallFile(index_path, kMaxIndexBytes));
  ASSIGN_OR_RETURN(CheckpointIndex index, ParseNodeCheckpointIndex(index_text, index_path));
  RETURN_IF_ERROR(ckpt->LoadNodeShards(index, index_path, root.string()));
  if (index.total_size && *index.total_size != ckpt->total_tensor_bytes_) {
    ckpt->warnings_.push_back(
        fmt::format("{}: metadata.total_size is {} but the tensors hold {} "
                    "bytes",
                    index_path, *index.total_size, ckpt->total_tensor_bytes_));
  }
  return ckpt;
}

Status Checkpoint::LoadNodeShards(const CheckpointIndex& index, const std::string& index_path,
                                  const std::string& release_root) {
  const fs::path node = fs::canonical(dir_);
  // Each shard spelling is opened once. "../b/f" resolves beside the node directory, which is
  // inside release_root, so it cannot leave it; links are refused on every component below.
  std::map<std::string, std::shared_ptr<const SafetensorsFile>> opened;
  auto open_shard =
      [&](const std::string& spelling) -> Result<std::shared_ptr<const SafetensorsFile>> {
    if (auto it = opened.find(spelling); it != opened.end()) return it->second;
    fs::path path;
    if (spelling.starts_with("../")) {
      const std::string rest = spelling.substr(3);
      const fs::path bundle = node.parent_path() / rest.substr(0, rest.find('/'));
      const fs::path up = node.parent_path().lexically_relative(release_root);
      if (up.empty() || *up.begin() == "..") {
        return Status::Corruption("{}: shard \"{}\" resolves outside the release directory",
                                  index_path, spelling);
      }
      RETURN_IF_ERROR(CheckNoSymlink(bundle, /*directory=*/true, index_path));
      path = bundle / rest.substr(rest.find('/') + 1);
    } else {
      path = node / spelling;
    }
    RETURN_IF_ERROR(CheckNoSymlink(path, /*directory=*/false, index_path));
    ASSIGN_OR_RETURN(std::shared_ptr<const SafetensorsFile> file,
                     SafetensorsFile::Open(path.string()));
    opened[spelling] = file;
    shards_.push_back(file);
    return file;
  };
  // A source tensor is exposed at most once: two names for one tensor are refused.
  std::set<std::pair<std::string, std::string>> used;
  for (const auto& [spelling, names] : index.tensors_by_shard) {
    ASSIGN_OR_RETURN(std::shared_ptr<const SafetensorsFile> file, open_shard(spelling));
    for (const std::string& exposed : names) {
      auto alias = index.aliases.find(exposed);
      const std::string& stored = alias == index.aliases.end() ? exposed : alias->second;
      const SafetensorsTensor* info = file->Find(stored);
      if (info == nullptr) {
        return Status::Corruption(
            "{}: assigns tensor \"{}\" (stored as \"{}\") to {}, which "
            "does not contain it",
            index_path, exposed, stored, spelling);
      }
      if (!used.insert({spelling, stored}).second) {
        return Status::Corruption("{}: tensor \"{}\" of {} is exposed under two names", index_path,
                                  stored, spelling);
      }
      tensors_.push_back({exposed, file, info});
      total_tensor_bytes_ += info->num_bytes();
    }
  }
  if (!index.stacks.empty()) {
    // Stacked tensors are assembled once into one in-memory safetensors image that lives as
    // long as any view of it.
    std::vector<SafetensorsSource> sources;
    std::map<std::string, std::string> metadata;
    for (const auto& [exposed, stack] : index.stacks) {
      std::vector<std::span<const uint8_t>> pieces;
      uint64_t total = 0;
      for (const CheckpointStackPart& part : stack.parts) {
        ASSIGN_OR_RETURN(std::shared_ptr<const SafetensorsFile> file, open_shard(part.shard));
        const SafetensorsTensor* info = file->Find(part.tensor);
        if (info == nullptr || part.end > info->num_bytes()) {
          return Status::Corruption(
              "{}: stack \"{}\" takes bytes [{}, {}) of \"{}\" in {}, "
              "which {}",
              index_path, exposed, part.begin, part.end, part.tensor, part.shard,
              info ? fmt::format("holds only {} bytes", info->num_bytes())
                   : std::string("does not exist"));
        }
        pieces.push_back(file->TensorBytes(*info).subspan(part.begin, part.end - part.begin));
        total += part.end - part.begin;  // bounded by the mapped files' sizes
      }
      auto elements = CheckedProduct(stack.shape);
      auto expected = elements ? DTypeStorageBytes(stack.dtype, *elements) : std::nullopt;
      if (!expected || *expected != total) {
        return Status::Corruption(
            "{}: stack \"{}\" has {} bytes of parts, but dtype {} and its "
            "shape need {}",
            index_path, exposed, total, DTypeName(stack.dtype),
            expected ? std::to_string(*expected) : "an overflowing size");
      }
      for (const auto& [key, value] : stack.metadata) {
        if (!metadata.emplace(key, value).second) {
          return Status::Corruption("{}: metadata key \"{}\" given by two stacks", index_path, key);
        }
      }
      sources.push_back({exposed, stack.dtype, stack.shape, [pieces](ByteSink& sink) {
                           for (auto piece : pieces) RETURN_IF_ERROR(sink.Write(piece));
                           return Status::Ok();
                         }});
    }
    auto image = std::make_shared<std::vector<uint8_t>>();
    VectorSink sink(image.get());
    RETURN_IF_ERROR(WriteSafetensors(std::move(sources), metadata, sink).WithContext(index_path));
    ASSIGN_OR_RETURN(std::shared_ptr<const SafetensorsFile> parsed,
                     SafetensorsFile::Parse(nullptr, *image, index_path + " (assembled stacks)"));
    // The file view owns the image: the aliasing pointer keeps both alive together.
    auto holder = std::make_shared<
        std::pair<std::shared_ptr<std::vector<uint8_t>>, std::shared_ptr<const SafetensorsFile>>>(
        image, parsed);
    std::shared_ptr<const SafetensorsFile> file(holder, holder->second.get());
    for (const SafetensorsTensor& t : file->tensors()) {
      tensors_.push_back({t.name, file, &t});
      total_tensor_bytes_ += t.num_bytes();
    }
    shards_.push_back(std::move(file));
  }
  std::sort(tensors_.begin(), tensors_.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (!by_name_.emplace(tensors_[i].name, i).second) {
      return Status::Corruption("{}: tensor \"{}\" is exposed twice", index_path, tensors_[i].name);
    }
  }
  return Status::Ok();
}

const CheckpointTensor* Checkpoint::Find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace moedist
