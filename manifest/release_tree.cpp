#include "manifest/release_tree.h"

#include <algorithm>
#include <filesystem>

namespace moedist {

namespace fs = std::filesystem;

const char* TreeEntryKindName(TreeEntry::Kind kind) {
  switch (kind) {
    case TreeEntry::kFile: return "file";
    case TreeEntry::kDirectory: return "directory";
    case TreeEntry::kSymlink: return "symbolic link";
    case TreeEntry::kOther: return "special file (device, FIFO or socket)";
  }
  return "entry";
}

Result<std::vector<TreeEntry>> ListTree(const std::string& dir, size_t max_entries) {
  std::error_code ec;
  const fs::file_status top = fs::symlink_status(dir, ec);
  if (top.type() == fs::file_type::not_found) return Status::NotFound("{}: no such directory", dir);
  if (ec) return Status::IoError("{}: cannot stat: {}", dir, ec.message());
  if (top.type() == fs::file_type::symlink) {
    return Status::Corruption("{}: is a symbolic link (refused, never followed)", dir);
  }
  if (top.type() != fs::file_type::directory) return Status::Corruption("{}: not a directory", dir);

  std::vector<TreeEntry> out;
  const fs::path root(dir);
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) return Status::IoError("{}: cannot list: {}", dir, ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IoError("{}: cannot list: {}", dir, ec.message());
    if (out.size() >= max_entries) {
      return Status::Corruption("{}: more than {} entries (refused)", dir, max_entries);
    }
    const fs::directory_entry& e = *it;
    TreeEntry entry;
    entry.path = e.path().lexically_relative(root).generic_string();
    const fs::file_status st = e.symlink_status(ec);
    if (ec) return Status::IoError("{}: cannot stat: {}", e.path().string(), ec.message());
    switch (st.type()) {
      case fs::file_type::regular:
        entry.kind = TreeEntry::kFile;
        entry.size = e.file_size(ec);
        if (ec) return Status::IoError("{}: cannot stat: {}", e.path().string(), ec.message());
        break;
      case fs::file_type::directory: entry.kind = TreeEntry::kDirectory; break;
      case fs::file_type::symlink: entry.kind = TreeEntry::kSymlink; break;
      default: entry.kind = TreeEntry::kOther; break;
    }
    out.push_back(std::move(entry));
  }
  if (ec) return Status::IoError("{}: cannot list: {}", dir, ec.message());
  std::sort(out.begin(), out.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  return out;
}

}  // namespace moedist
