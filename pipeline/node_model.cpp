#include "pipeline/node_model.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <vector>

#include "core/atomic_file.h"
#include "core/mapped_file.h"
#include "formats/hf_checkpoint.h"
#include "formats/safetensors_writer.h"

namespace moedist {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kQuantMetaPrefix = "moedist.quant.";

// The quantization metadata of `t` (keyed by the name inside its shard), or null.
const std::string* QuantMeta(const CheckpointTensor& t) {
  const auto& meta = t.shard->metadata();
  auto it = meta.find(std::string(kQuantMetaPrefix) + t.info->name);
  return it == meta.end() ? nullptr : &it->second;
}

// Model::Open(node_dir, CheckpointOpenOptions) once runtime-min has it; until then the node is
// materialized under `scratch` and opened as a plain checkpoint. A template so that the branch
// not taken is never compiled.
template <typename M = Model>
Result<std::unique_ptr<M>> OpenNodeAnyWay(const std::string& dist, const std::string& dir,
                                          const std::string& node, const std::string& scratch,
                                          NodeModel& n) {
  if constexpr (requires { M::Open(dir, CheckpointOpenOptions{dist}); }) {
    return M::Open(dir, CheckpointOpenOptions{dist});
  } else {
    n.scratch = scratch;
    n.materialized = true;
    RETURN_IF_ERROR(MaterializeNodeCheckpoint(dist, node, scratch));
    return M::Open(scratch);
  }
}

}  // namespace

Result<bool> NodeIsQuantized(const std::string& dist, const std::string& node) {
  ASSIGN_OR_RETURN(auto ckpt, Checkpoint::Open(dist + "/" + node, CheckpointOpenOptions{dist}));
  return std::any_of(ckpt->tensors().begin(), ckpt->tensors().end(),
                     [](const CheckpointTensor& t) { return QuantMeta(t) != nullptr; });
}

Status MaterializeNodeCheckpoint(const std::string& dist, const std::string& node,
                                 const std::string& out) {
  const std::string dir = dist + "/" + node;
  ASSIGN_OR_RETURN(auto ckpt, Checkpoint::Open(dir, CheckpointOpenOptions{dist}));
  ASSIGN_OR_RETURN(NodeInfo info, ReadNodeInfo(dir));
  std::vector<SafetensorsSource> sources;
  std::map<std::string, std::string> metadata = {{"format", "pt"}};
  for (const CheckpointTensor& t : ckpt->tensors()) {
    sources.push_back(SourceFromBytes(t.name, t.dtype(), t.shape(), t.bytes()));
    if (const std::string* q = QuantMeta(t)) metadata[std::string(kQuantMetaPrefix) + t.name] = *q;
  }
  // Mask mode: every absent expert, shaped like the layer's first held one, as NaN bytes.
  std::vector<std::vector<uint8_t>> absent;
  if (info.mode == NodeMode::kMask) {
    for (const auto& [layer, nl] : info.layers) {
      const int model_expert = nl.held.front();
      const std::string layer_key = ".layers." + std::to_string(layer) + ".";
      const std::string expert_key = ".experts." + std::to_string(model_expert) + ".";
      for (const CheckpointTensor& t : ckpt->tensors()) {
        if (t.name.find(layer_key) == std::string::npos ||
            t.name.find(expert_key) == std::string::npos) {
          continue;
        }
        for (int e = 0; e < info.source_num_experts; ++e) {
          if (std::binary_search(nl.held.begin(), nl.held.end(), e)) continue;
          ASSIGN_OR_RETURN(std::string name, RenameExpert(t.name, model_expert, e));
          absent.emplace_back(t.num_bytes(), uint8_t{0xff});
          sources.push_back(SourceFromBytes(name, t.dtype(), t.shape(), absent.back()));
          if (const std::string* q = QuantMeta(t)) {
            metadata[std::string(kQuantMetaPrefix) + name] = *q;
          }
        }
      }
    }
  }
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return Status::IoError("{}: cannot create directory: {}", out, ec.message());
  ASSIGN_OR_RETURN(std::string config, ReadSmallFile(dir + "/config.json", 16ull << 20));
  RETURN_IF_ERROR(WriteFileAtomically(out + "/config.json", config));
  return WriteSafetensorsFile(out + "/model.safetensors", std::move(sources), metadata);
}

Result<NodeModel> OpenNodeModel(const std::string& dist, const std::string& node,
                                const std::string& scratch_dir) {
  const std::string dir = dist + "/" + node;
  NodeModel n;
  ASSIGN_OR_RETURN(n.info, ReadNodeInfo(dir));
  ASSIGN_OR_RETURN(n.quantized, NodeIsQuantized(dist, node));
  Result<std::unique_ptr<Model>> model =
      OpenNodeAnyWay(dist, dir, node, scratch_dir + "/" + node, n);
  if (!model.ok()) {
    if (n.quantized) {
      return Status(model.status().code(),
                    fmt::format("{}: quantized nodes cannot be loaded yet (runtime-min does not "
                                "read block-quantized weights): {}",
                                dir, model.status().message()));
    }
    return model.status().WithContext(dir);
  }
  n.model = std::move(model).value();
  ASSIGN_OR_RETURN(n.mask, ExpertMask::FromLayers(n.model->config(), NodeMaskLayers(n.info),
                                                  dir + "/" + std::string(kNodeInfoFile)));
  return n;
}

}  // namespace moedist
