#include "pipeline/pack_gguf_nodes.h"

#include <fmt/format.h>

#include <filesystem>

#include "core/mapped_file.h"
#include "formats/hf_checkpoint.h"
#include "pipeline/gguf_arch_metadata.h"
#include "pipeline/gguf_node_export.h"

namespace moedist {

std::string_view NodeFileFormatName(NodeFileFormat f) {
  switch (f) {
    case NodeFileFormat::kSafetensors: return "safetensors";
    case NodeFileFormat::kGguf: return "gguf";
    case NodeFileFormat::kBoth: return "both";
  }
  return "";
}

std::optional<NodeFileFormat> ParseNodeFileFormat(std::string_view name) {
  for (NodeFileFormat f :
       {NodeFileFormat::kSafetensors, NodeFileFormat::kGguf, NodeFileFormat::kBoth}) {
    if (NodeFileFormatName(f) == name) return f;
  }
  return std::nullopt;
}

bool IsNodeGgufFileName(const std::string& bundle, const std::string& file) {
  return bundle.starts_with("node-") && file == NodeGgufFileName(bundle);
}

Status CheckNodesExpressibleAsGguf(const std::string& checkpoint_dir,
                                   const std::vector<NodeInfo>& nodes) {
  namespace fs = std::filesystem;
  const std::string path = (fs::path(checkpoint_dir) / "config.json").string();
  ASSIGN_OR_RETURN(std::string config, ReadSmallFile(path, 16ull << 20));
  // The original config: the rules do not depend on the expert count, and a sliced count may
  // not even parse (DeepSeek's n_group must divide it).
  ASSIGN_OR_RETURN(ModelConfig cfg, ParseModelConfig(config, path));
  ASSIGN_OR_RETURN(GgufArch arch, GgufArchForFamily(cfg.family));
  for (const NodeInfo& info : nodes) {
    RETURN_IF_ERROR(CheckGgufExpressible(arch, cfg, info).WithContext(info.node));
  }
  return Status::Ok();
}

Result<std::vector<WrittenFile>> WriteNodeGgufs(const std::string& dist,
                                                const std::string& checkpoint_dir,
                                                const std::vector<NodeInfo>& nodes,
                                                std::vector<std::string>& warnings) {
  namespace fs = std::filesystem;
  ASSIGN_OR_RETURN(std::string config,
                   ReadSmallFile((fs::path(checkpoint_dir) / "config.json").string(), 16ull << 20));
  ASSIGN_OR_RETURN(TokenizerSources tokenizer, ReadTokenizerSources(checkpoint_dir, config));
  std::vector<WrittenFile> written;
  for (const NodeInfo& info : nodes) {
    const std::string dir = (fs::path(dist) / info.node).string();
    ASSIGN_OR_RETURN(auto node, Checkpoint::Open(dir, CheckpointOpenOptions{dist}));
    GgufNodeRequest req{node.get(), &info, config, tokenizer,
                        fmt::format("{} {}", node->config().model_type, info.node)};
    Result<GgufNodePlan> planned = PlanNodeGguf(req);
    if (!planned.ok()) return planned.status().WithContext(info.node);
    GgufNodePlan plan = std::move(planned).value();
    for (const std::string& w : plan.warnings) {
      if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
    }
    ASSIGN_OR_RETURN(WrittenFile f,
                     WriteNodeGguf(dist, info.node + "/" + NodeGgufFileName(info.node), plan));
    written.push_back(std::move(f));
  }
  return written;
}

}  // namespace moedist
