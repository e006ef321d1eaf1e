// What PackageNode and UnpackNode share: the node's file list, the signature check and the
// JSON reports.
#include "manifest/node_archive.h"

#include <span>

namespace moedist {

Result<std::vector<NodeArchiveFile>> NodeArchiveFiles(const Distribution& d,
                                                      std::string_view node) {
  const NodeEntry* entry = d.FindNode(node);
  if (entry == nullptr) {
    std::string known;
    for (const NodeEntry& n : d.nodes) known += (known.empty() ? "" : ", ") + n.id;
    return Status::InvalidArgument("node \"{}\" is not in distribution.json (nodes: {})", node,
                                   known);
  }
  std::vector<NodeArchiveFile> files;
  for (const std::string& bundle : entry->bundles) {
    auto it = d.bundles.find(bundle);
    if (it == d.bundles.end()) {
      return Status::Corruption(
          "distribution.json: node \"{}\" names bundle \"{}\", which the "
          "manifest does not list",
          node, bundle);
    }
    for (const ManifestFile& f : it->second.files) {
      files.push_back({bundle + "/" + f.path, bundle, f});
    }
  }
  return files;
}

Result<std::string> CheckManifestSignature(std::string_view manifest_bytes,
                                           std::string_view signature_bytes,
                                           const std::vector<PublicKey>& trusted,
                                           std::string_view manifest_source,
                                           std::string_view signature_source) {
  ASSIGN_OR_RETURN(const DetachedSignature sig, ParseSignature(signature_bytes, signature_source));
  const auto message =
      std::span(reinterpret_cast<const uint8_t*>(manifest_bytes.data()), manifest_bytes.size());
  RETURN_IF_ERROR(
      VerifyDetachedSignature(message, sig, trusted, manifest_source, signature_source));
  return sig.key_id;
}

nlohmann::json PackageReportToJson(const PackageReport& r) {
  return {{"archive", r.archive_path},
          {"node", r.node},
          {"release", {{"name", r.release_name}, {"version", r.release_version}}},
          {"files", r.files},
          {"file_bytes", r.file_bytes},
          {"archive_bytes", r.archive_bytes},
          {"archive_sha256", r.archive_sha256},
          {"ratio", r.archive_bytes ? static_cast<double>(r.file_bytes) / r.archive_bytes : 0.0},
          {"byte_planes",
           {{"files", r.plane_files},
            {"tensors", r.plane_ranges},
            {"bytes", r.plane_bytes},
            {"candidates", r.plane_candidates},
            {"sample_raw_compressed", r.sample_raw_compressed},
            {"sample_split_compressed", r.sample_split_compressed}}},
          {"reused", {{"files", r.reused_files}, {"bytes", r.reused_bytes}}},
          {"signature_checked", r.signature_checked},
          {"seconds", r.seconds}};
}

nlohmann::json UnpackReportToJson(const UnpackReport& r) {
  return {{"out", r.out_dir},
          {"node", r.node},
          {"release", {{"name", r.release_name}, {"version", r.release_version}}},
          {"signature", {{"checked", r.signature_checked}, {"key_id", r.key_id}}},
          {"files", r.files},
          {"bytes", r.bytes},
          {"plane_bytes", r.plane_bytes},
          {"reused", {{"files", r.reused_files}, {"bytes", r.reused_bytes}}},
          {"archive_bytes", r.archive_bytes},
          {"seconds", r.seconds}};
}

}  // namespace moedist
