// The name of a pack layout: how routed experts are grouped into bundles. Separate from
// pack_layout.h so that parsers of release.json and the CLI (and their fuzz targets) need not
// link the packer.
#ifndef MOEDIST_PIPELINE_PACK_LAYOUT_KIND_H_
#define MOEDIST_PIPELINE_PACK_LAYOUT_KIND_H_

#include <optional>
#include <string>
#include <string_view>

namespace moedist {

// How routed experts are grouped into bundles (directories, the unit a node downloads).
enum class PackLayoutKind {
  kGroups,   // group-<k>/ and overlay/: few files, but any plan change rewrites whole groups
  kExperts,  // expert-<layer>-<id>/: one bundle per routed expert and layer
};
// "groups", "experts".
std::optional<PackLayoutKind> ParsePackLayoutKind(std::string_view name);
std::string_view PackLayoutKindName(PackLayoutKind kind);
// The bundle holding expert `expert` of MoE layer `layer` in the experts layout.
std::string ExpertBundleName(int layer, int expert);

}  // namespace moedist

#endif  // MOEDIST_PIPELINE_PACK_LAYOUT_KIND_H_
