#include "pipeline/release_node.h"

#include <filesystem>

#include "manifest/distribution.h"
#include "pipeline/node_bundle.h"
#include "pipeline/node_model.h"

namespace moedist {
namespace fs = std::filesystem;

namespace {

// A node name is one plain path component: DIST/<node> cannot leave DIST.
Status CheckNodeName(const std::string& node) {
  if (node.empty() || node == "." || node == ".." ||
      node.find_first_of(std::string("/\\\0", 3)) != std::string::npos) {
    return Status::InvalidArgument("--node \"{}\": expected a node id of the release (node-0, ...)",
                                   node);
  }
  return Status::Ok();
}

std::string GgufPath(const ReleaseNodeOptions& o) {
  return (fs::path(o.dist_dir) / o.node / (o.node + ".gguf")).string();
}

}  // namespace

Result<bool> ResolveReleaseNodePath(const std::string& path, std::string& dist, std::string& node) {
  const fs::path p(path);
  std::error_code ec;
  if (fs::is_regular_file(p / kManifestFileName, ec)) {
    return Status::InvalidArgument(
        "{} is a release (it holds {}): name the node to load with --node node-<k>", path,
        kManifestFileName);
  }
  const fs::path dir = p.has_filename() ? p : p.parent_path();
  const std::string name = dir.filename().string();
  const bool node_files = fs::is_regular_file(dir / kNodeInfoFile, ec) ||
                          fs::is_regular_file(dir / (name + ".gguf"), ec);
  if (!node_files || !fs::is_regular_file(dir.parent_path() / kManifestFileName, ec)) return false;
  dist = dir.parent_path().string();
  node = name;
  return true;
}

Result<ReleaseNode> OpenReleaseNode(const ReleaseNodeOptions& o) {
  RETURN_IF_ERROR(CheckNodeName(o.node));
  RETURN_IF_ERROR(CheckTrustChoice(o.trust));
  const std::string dir = (fs::path(o.dist_dir) / o.node).string();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::NotFound("{}: no such node directory in the release {}", dir, o.dist_dir);
  }
  ReleaseNode n;
  ASSIGN_OR_RETURN(n.trust, CheckRelease(o.dist_dir, o.trust, o.node, {}));
  const bool has_safetensors =
      fs::is_regular_file(fs::path(dir) / "model.safetensors.index.json", ec);
  const bool has_gguf = fs::is_regular_file(GgufPath(o), ec);
  if (o.gguf && !has_gguf) {
    return Status::NotFound(
        "{}: no GGUF node file (the release was packed without --format "
        "gguf|both)",
        GgufPath(o));
  }
  if (o.gguf || !has_safetensors) {
    if (!has_gguf) {
      return Status::NotFound("{}: neither model.safetensors.index.json nor {}.gguf", dir, o.node);
    }
    n.format = "gguf";
    n.path = GgufPath(o);
    ASSIGN_OR_RETURN(n.model, Model::OpenGguf(n.path));  // router sliced: no mask
    return n;
  }
  // The direct way of node_model.h: views of the mapped bundles, no scratch copy is written.
  ASSIGN_OR_RETURN(NodeModel opened, OpenNodeModel(o.dist_dir, o.node, /*scratch_dir=*/""));
  if (opened.materialized) {
    return Status::Internal("{}: the node was materialized; runtime-min should open it directly",
                            dir);
  }
  n.format = "safetensors";
  n.path = dir;
  n.model = std::move(opened.model);
  n.mask = std::move(opened.mask);
  n.masked = opened.info.mode == NodeMode::kMask;
  return n;
}

Result<NodeEvalReport> RunNodeEvalJob(const ReleaseNodeOptions& node, const EvalJobOptions& job) {
  ASSIGN_OR_RETURN(ReleaseNode n, OpenReleaseNode(node));
  NodeEvalReport r{.trust = n.trust, .format = n.format};
  ASSIGN_OR_RETURN(r.eval, RunEvalJobOn(*n.model, n.mask_or_null(), job));
  return r;
}

Result<NodeGenerateReport> RunNodeGenerateJob(const ReleaseNodeOptions& node,
                                              const GenerateJobOptions& job) {
  ASSIGN_OR_RETURN(ReleaseNode n, OpenReleaseNode(node));
  NodeGenerateReport r{.trust = n.trust, .format = n.format};
  ASSIGN_OR_RETURN(r.generation, RunGenerateJobOn(*n.model, n.mask_or_null(), job));
  return r;
}

}  // namespace moedist
