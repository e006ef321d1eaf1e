#include "pipeline/pack_layout_kind.h"

#include <fmt/format.h>

namespace moedist {

std::optional<PackLayoutKind> ParsePackLayoutKind(std::string_view name) {
  if (name == "groups") return PackLayoutKind::kGroups;
  if (name == "experts") return PackLayoutKind::kExperts;
  return std::nullopt;
}

std::string_view PackLayoutKindName(PackLayoutKind kind) {
  return kind == PackLayoutKind::kExperts ? "experts" : "groups";
}

std::string ExpertBundleName(int layer, int expert) {
  return fmt::format("expert-{}-{}", layer, expert);
}

}  // namespace moedist
