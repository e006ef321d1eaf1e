// pack's GGUF step: after the node directories are written and checked, each node is read back
// the way a runtime reads it and written as DIST/node-<k>/node-<k>.gguf (gguf_node_export.h).
// `--format gguf` then drops the safetensors bundles, so the release holds one GGUF per node.
// Thread safety: called once per pack, under the release lock.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "pipeline/bundle_writer.h"
#include "pipeline/node_bundle.h"

namespace moedist {

enum class NodeFileFormat { kSafetensors, kGguf, kBoth };
std::string_view NodeFileFormatName(NodeFileFormat f);
std::optional<NodeFileFormat> ParseNodeFileFormat(std::string_view name);

// True for "node-<k>.gguf" inside "node-<k>/".
bool IsNodeGgufFileName(const std::string& bundle, const std::string& file);

// Refuses (Unsupported, naming the node and the reason) before anything is written when a node
// cannot be a GGUF llama.cpp runs the way runtime-min runs the node (CheckGgufExpressible).
Status CheckNodesExpressibleAsGguf(const std::string& checkpoint_dir,
                                   const std::vector<NodeInfo>& nodes);

// Writes (and re-reads) one GGUF per node. `checkpoint_dir` supplies config.json and the
// tokenizer files. Warnings (e.g. an unrecognised pre-tokenizer) are appended to `warnings`.
Result<std::vector<WrittenFile>> WriteNodeGgufs(const std::string& dist,
                                                const std::string& checkpoint_dir,
                                                const std::vector<NodeInfo>& nodes,
                                                std::vector<std::string>& warnings);

}  // namespace moedist
