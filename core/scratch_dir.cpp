#include "core/scratch_dir.h"

#include <stdlib.h>

#include <filesystem>

namespace moedist {
namespace fs = std::filesystem;

Result<ScratchDir> ScratchDir::Make(const std::string& given, std::string_view prefix) {
  if (!given.empty()) {
    std::error_code ec;
    fs::create_directories(given, ec);
    if (ec) return Status::IoError("{}: cannot create: {}", given, ec.message());
    return ScratchDir(given, false);
  }
  std::string tmpl = (fs::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Status::IoError("{}: cannot create a temporary directory", tmpl);
  }
  return ScratchDir(tmpl, true);
}

ScratchDir::ScratchDir(ScratchDir&& o) noexcept : path_(std::move(o.path_)), owned_(o.owned_) {
  o.owned_ = false;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (owned_) fs::remove_all(path_, ec);
}

}  // namespace moedist
