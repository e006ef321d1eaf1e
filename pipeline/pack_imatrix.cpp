#include "pipeline/pack_imatrix.h"

#include "core/mapped_file.h"
#include "formats/gguf_tensor_names.h"
#include "manifest/file_digest.h"

namespace moedist {
namespace {

// What the checkpoint expects of one imatrix entry.
struct Expected {
  uint64_t in_features = 0;
  uint64_t matrices = 1;
  std::string tensor;  // a checkpoint tensor it describes, for messages
  // checkpoint tensor -> its matrix in the entry (packed tensors are not listed)
  std::map<std::string, uint64_t> slots;
};

// The entries a checkpoint's weights give rise to, by llama.cpp name.
Result<std::map<std::string, Expected>> ExpectedEntries(
    const Checkpoint& ckpt, const std::vector<ClassifiedTensor>& classified,
    std::set<std::string>& packed) {
  const ModelConfig& cfg = ckpt.config();
  std::map<std::string, Expected> out;
  auto add = [&](const std::string& gguf, uint64_t in, uint64_t matrices,
                 const std::string& tensor) -> Expected& {
    Expected& e = out[gguf];
    if (e.tensor.empty()) e = {in, matrices, tensor, {}};
    return e;
  };
  for (const ClassifiedTensor& c : classified) {
    const CheckpointTensor& t = *c.tensor;
    if (!t.name.ends_with(".weight") && !t.name.ends_with("_proj")) continue;
    Result<GgufTensorName> mapped = MapHfTensorName(t.name, cfg.weight_prefix);
    if (!mapped.ok()) continue;  // no llama.cpp name: llama-imatrix never records it
    const auto& shape = t.shape();
    const uint64_t experts = static_cast<uint64_t>(cfg.routing.num_experts);
    switch (mapped->kind) {
      case GgufTensorName::Kind::kPlain:
        if (shape.size() == 2) add(mapped->gguf, shape[1], 1, t.name).slots[t.name] = 0;
        break;
      case GgufTensorName::Kind::kExpert:
        if (shape.size() == 2) {
          add(mapped->gguf, shape[1], experts, t.name).slots[t.name] =
              static_cast<uint64_t>(mapped->expert);
        }
        break;
      case GgufTensorName::Kind::kPackedExperts:
        // [E, in, out]: gate_up feeds ffn_gate_exps and ffn_up_exps, down ffn_down_exps.
        if (shape.size() != 3) break;
        packed.insert(t.name);
        if (mapped->proj == ExpertProj::kGateUp) {
          add(MergedExpertName(mapped->layer, ExpertProj::kGate), shape[1], experts, t.name);
          add(MergedExpertName(mapped->layer, ExpertProj::kUp), shape[1], experts, t.name);
        } else {
          add(mapped->gguf, shape[1], experts, t.name);
        }
        break;
    }
  }
  return out;
}

}  // namespace

Result<PackImatrix> PackImatrix::Load(const std::string& path, const Checkpoint& ckpt,
                                      const std::vector<ClassifiedTensor>& classified) {
  ASSIGN_OR_RETURN(auto mapped, MappedFile::Open(path));
  ASSIGN_OR_RETURN(Imatrix m, ParseImatrix(mapped->bytes(), path));
  PackImatrix out;
  out.path_ = path;
  ASSIGN_OR_RETURN(out.sha256_, Sha256Hex(mapped->bytes()));
  out.entries_ = m.entries.size();
  out.datasets_ = m.datasets;
  out.chunk_count_ = m.chunk_count;
  ASSIGN_OR_RETURN(auto expected, ExpectedEntries(ckpt, classified, out.not_applicable_));
  for (const auto& [name, entry] : m.entries) {
    auto it = expected.find(name);
    if (it == expected.end()) {
      return Status::InvalidArgument(
          "{}: entry \"{}\" names no weight of checkpoint {} (an importance matrix of another "
          "model?)",
          path, name, ckpt.dir());
    }
    const Expected& e = it->second;
    if (entry.in_features != e.in_features || entry.matrices() != e.matrices) {
      return Status::InvalidArgument(
          "{}: \"{}.in_sum2\" is [{} × {}] (input features × matrices), but checkpoint tensor "
          "\"{}\" needs [{} × {}]",
          path, name, entry.in_features, entry.matrices(), e.tensor, e.in_features, e.matrices);
    }
    for (const auto& [tensor, slot] : e.slots) {
      out.weights_[tensor] = std::make_shared<const std::vector<float>>(entry.Importance(slot));
    }
  }
  return out;
}

std::shared_ptr<const std::vector<float>> PackImatrix::For(const std::string& name) const {
  auto it = weights_.find(name);
  return it == weights_.end() ? nullptr : it->second;
}

}  // namespace moedist
