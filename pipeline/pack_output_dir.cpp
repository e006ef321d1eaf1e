#include "pipeline/pack_output_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "manifest/build_distribution.h"
#include "manifest/distribution.h"
#include "pipeline/bundle_writer.h"
#include "pipeline/node_bundle.h"
#include "pipeline/pack_layout.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

bool IsDigits(std::string_view s, size_t n = 0) {
  return !s.empty() && (n == 0 || s.size() == n) &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool NumberedName(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix)) return false;
  std::string_view n = name.substr(prefix.size());
  return IsDigits(n) && (n.size() == 1 || n[0] != '0');
}

// lstat type of a path: 'd' directory, 'f' regular file, 'l' link, '?' other, 0 missing.
char Kind(const fs::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return 0;
  if (S_ISLNK(st.st_mode)) return 'l';
  if (S_ISDIR(st.st_mode)) return 'd';
  if (S_ISREG(st.st_mode)) return 'f';
  return '?';
}

// expert-<layer>-<id> (pack --layout experts).
bool ExpertBundle(std::string_view name) {
  if (!name.starts_with("expert-")) return false;
  std::string_view rest = name.substr(7);
  const size_t dash = rest.find('-');
  if (dash == std::string_view::npos) return false;
  return NumberedName(rest.substr(0, dash), "") && NumberedName(rest.substr(dash + 1), "");
}

}  // namespace

bool IsPackBundleName(const std::string& name) {
  return name == "trunk" || name == "overlay" || NumberedName(name, "group-") ||
         NumberedName(name, "node-") || ExpertBundle(name);
}

bool IsPackBundleFileName(const std::string& name) {
  if (name == kBundleIndexFile || name == kNodeShardFile || name == "config.json" ||
      name == kNodeInfoFile || name == kNodeMaskFile || IsAtomicTemporaryName(name)) {
    return true;
  }
  const auto& aux = CheckpointAuxFileNames();
  if (std::find(aux.begin(), aux.end(), name) != aux.end()) return true;
  // node-<k>.gguf (pack --format gguf|both)
  if (name.size() > 10 && name.starts_with("node-") && name.ends_with(".gguf") &&
      IsDigits(name.substr(5, name.size() - 10))) {
    return true;
  }
  // model-00001-of-00003.safetensors
  return name.size() == 32 && name.starts_with("model-") && IsDigits(name.substr(6, 5)) &&
         name.substr(11, 4) == "-of-" && IsDigits(name.substr(15, 5)) &&
         name.substr(20) == ".safetensors";
}

Status CheckReleaseDirContents(const std::string& dist) {
  std::error_code ec;
  for (const auto& top : fs::directory_iterator(dist, ec)) {
    const std::string name = top.path().filename().string();
    const char kind = Kind(top.path());
    if (kind == 'f' &&
        (name == kManifestFileName || name == kSignatureFileName || IsAtomicTemporaryName(name))) {
      continue;
    }
    if (kind != 'd' || !IsPackBundleName(name)) {
      return Status::FailedPrecondition(
          "{}: holds \"{}\", which pack does not write; refusing to "
          "pack into a directory with other content",
          dist, name);
    }
    for (const auto& entry : fs::directory_iterator(top.path(), ec)) {
      const std::string file = entry.path().filename().string();
      if (Kind(entry.path()) != 'f' || !IsPackBundleFileName(file)) {
        return Status::FailedPrecondition(
            "{}: holds \"{}/{}\", which pack does not write; "
            "refusing to pack into a directory with other content",
            dist, name, file);
      }
    }
    if (ec) return Status::IoError("{}: cannot list: {}", top.path().string(), ec.message());
  }
  if (ec) return Status::IoError("{}: cannot list: {}", dist, ec.message());
  return Status::Ok();
}

}  // namespace moedist
