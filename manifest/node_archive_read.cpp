// UnpackNode (node_archive.h): a node archive → a release directory, refusing anything the
// signed manifest does not name (reliability rows 26–29). libarchive parses the tar stream and
// pulls its bytes through a read callback from ZstdDecompressor (window capped); every member
// is checked here before one byte of it is written.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "manifest/archive_index.h"
#include "manifest/file_digest.h"
#include "manifest/node_archive.h"
#include "manifest/release_diff.h"
#include "manifest/release_path.h"
#include "manifest/release_stage.h"
#include "manifest/zstd_stream.h"

namespace moedist {
namespace {

namespace fs = std::filesystem;

constexpr size_t kDataBufferBytes = 4u << 20;
constexpr size_t kInflateBufferBytes = 1u << 20;

class TarReader {
 public:
  TarReader(ZstdDecompressor* source, std::string what)
      : source_(source), what_(std::move(what)), buffer_(kInflateBufferBytes) {}
  ~TarReader() {
    if (a_ != nullptr) archive_read_free(a_);
  }
  TarReader(const TarReader&) = delete;

  Status Open() {
    a_ = archive_read_new();
    if (a_ == nullptr) return Status::Internal("libarchive: cannot create a reader");
    if (archive_read_support_format_tar(a_) != ARCHIVE_OK ||
        archive_read_open(a_, this, nullptr, &TarReader::ReadCallback, nullptr) != ARCHIVE_OK) {
      return Error("cannot start reading the tar stream");
    }
    return Status::Ok();
  }

  // The next member's header, or nullptr at the end of the archive.
  Result<archive_entry*> Next() {
    archive_entry* e = nullptr;
    const int r = archive_read_next_header(a_, &e);
    if (r == ARCHIVE_EOF) return static_cast<archive_entry*>(nullptr);
    if (r != ARCHIVE_OK) return Error("reading the header after member " + last_name_);
    return e;
  }
  void set_last_name(std::string name) { last_name_ = std::move(name); }

  Result<size_t> ReadData(std::span<uint8_t> out) {
    const la_ssize_t n = archive_read_data(a_, out.data(), out.size());
    if (n < 0) return Error("reading data");
    return static_cast<size_t>(n);
  }

 private:
  static la_ssize_t ReadCallback(archive*, void* self, const void** buf) {
    auto* r = static_cast<TarReader*>(self);
    auto n = r->source_->Read(r->buffer_);
    if (!n.ok()) {
      r->source_status_ = n.status();
      return -1;
    }
    *buf = r->buffer_.data();
    return static_cast<la_ssize_t>(*n);
  }
  Status Error(const std::string& doing) const {
    if (!source_status_.ok()) return source_status_;
    const char* msg = archive_error_string(a_);
    return Status::Corruption("{}: tar: {}: {}", what_, doing, msg ? msg : "unknown error");
  }

  ZstdDecompressor* source_;
  std::string what_;
  std::vector<uint8_t> buffer_;
  archive* a_ = nullptr;
  Status source_status_;
  std::string last_name_ = "(none)";
};

const char* FileTypeName(unsigned type) {
  switch (type) {
    case AE_IFDIR: return "a directory";
    case AE_IFLNK: return "a symbolic link";
    case AE_IFCHR: return "a character device";
    case AE_IFBLK: return "a block device";
    case AE_IFIFO: return "a FIFO";
    case AE_IFSOCK: return "a socket";
    default: return "not a regular file";
  }
}

// Header checks every member passes before its data is read (rows 26–28); returns its name.
Result<std::string> CheckMember(archive_entry* e, size_t ordinal, const std::string& archive) {
  const char* raw = archive_entry_pathname_utf8(e);
  if (raw == nullptr) raw = archive_entry_pathname(e);
  if (raw == nullptr || *raw == '\0') {
    return Status::Corruption("{}: member {} has no name; refused", archive, ordinal);
  }
  const std::string name = raw;
  const std::string shown = fmt::format("{}: member \"{}\"", archive, PrintableName(name));
  RETURN_IF_ERROR(CheckReleasePath(name, "archive member").WithContext(shown));
  if (const char* target = archive_entry_hardlink(e)) {
    return Status::Corruption("{}: hard link to \"{}\"; refused (only regular files are extracted)",
                              shown, PrintableName(target));
  }
  if (const char* target = archive_entry_symlink(e)) {
    return Status::Corruption(
        "{}: symbolic link to \"{}\"; refused (only regular files are extracted)", shown,
        PrintableName(target));
  }
  const unsigned type = archive_entry_filetype(e);
  if (type != AE_IFREG) {
    return Status::Corruption("{}: {} (type {:o}); refused (only regular files are extracted)",
                              shown, FileTypeName(type), type);
  }
  if ((archive_entry_mode(e) & 07000) != 0) {
    return Status::Corruption("{}: setuid, setgid or sticky bits (mode {:o}); refused", shown,
                              archive_entry_mode(e) & 07777);
  }
  if (archive_entry_sparse_count(e) > 0) {
    return Status::Corruption("{}: sparse file; refused", shown);
  }
  if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0) {
    return Status::Corruption("{}: no size in the header; refused", shown);
  }
  return name;
}

// Reads a small member (manifest, signature, index) whole, refusing more than `cap` bytes.
Result<std::string> ReadSmallMember(TarReader& tar, archive_entry* e, const std::string& shown,
                                    uint64_t cap) {
  const uint64_t size = static_cast<uint64_t>(archive_entry_size(e));
  if (size > cap) {
    return Status::Corruption("{}: {} bytes; at most {} are allowed", shown, size, cap);
  }
  std::string bytes(size, '\0');
  uint64_t done = 0;
  while (true) {
    std::span<uint8_t> rest(reinterpret_cast<uint8_t*>(bytes.data()) + done, size - done);
    uint8_t extra;
    ASSIGN_OR_RETURN(const size_t n, tar.ReadData(rest.empty() ? std::span(&extra, 1) : rest));
    if (n == 0) break;
    if (rest.empty()) return Status::Corruption("{}: more data than its header says", shown);
    done += n;
  }
  if (done != size) {
    return Status::Corruption("{}: truncated: {} of {} bytes", shown, done, size);
  }
  return bytes;
}

// A fresh directory beside the destination, removed unless Release()d.
class TempDir {
 public:
  static Result<TempDir> Create(const fs::path& out) {
    const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    std::string pattern = (parent / ("." + out.filename().string() + ".unpack.XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::IoError("{}: cannot create a temporary directory in {}: {}", out.string(),
                             parent.string(), std::strerror(errno));
    }
    return TempDir(pattern);
  }
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  void Release() { path_.clear(); }

 private:
  explicit TempDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

Status CheckDestination(const std::string& out) {
  struct stat st;
  if (::lstat(out.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::IoError("{}: cannot stat: {}", out, std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition(
        "{}: exists and is not a directory (symbolic links are "
        "refused); unpack writes a new directory",
        out);
  }
  std::error_code ec;
  if (!fs::is_empty(out, ec) || ec) {
    return Status::FailedPrecondition("{}: exists and is not empty; unpack writes a new directory",
                                      out);
  }
  return Status::Ok();
}

// One member's data → restored, hashed, written to `dest`, refused beyond the listed size.
Status ExtractMember(TarReader& tar, const NodeArchiveFile& f,
                     const std::vector<PlaneRange>& ranges, const std::string& dest,
                     const std::string& shown, std::vector<uint8_t>* buffer) {
  std::error_code ec;
  fs::create_directories(fs::path(dest).parent_path(), ec);
  if (ec) return Status::IoError("{}: cannot create directory: {}", dest, ec.message());
  ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(dest));
  HashingSink hashing(&file);
  PlaneTransformSink planes(PlaneTransformSink::kMerge, ranges, &hashing);
  uint64_t done = 0;
  while (true) {
    ASSIGN_OR_RETURN(const size_t n, tar.ReadData(*buffer));
    if (n == 0) break;
    if (n > f.file.size - done) {
      return Status::Corruption("{}: more than the {} bytes distribution.json lists; stopped",
                                shown, f.file.size);
    }
    RETURN_IF_ERROR(planes.Write(std::span(buffer->data(), n)));
    done += n;
  }
  if (done != f.file.size) {
    return Status::Corruption("{}: truncated: {} of {} bytes", shown, done, f.file.size);
  }
  RETURN_IF_ERROR(planes.Finish(shown));
  ASSIGN_OR_RETURN(const std::string digest, hashing.FinishHex());
  if (digest != f.file.sha256) {
    return Status::Corruption(
        "{}: SHA-256 of the extracted bytes is {}, distribution.json lists {} (corrupted data or "
        "byte planes); refused",
        shown, digest, f.file.sha256);
  }
  return file.Commit();
}

// Where a delta archive's reused files are: the SHA-256 → release paths ("<bundle>/<path>") of
// the earlier release in `reuse_dir`, from its distribution.json. Its signature is not checked
// here: every copied byte is hashed against the new, signed manifest.
Result<std::map<std::string, std::vector<std::string>>> ReusablePaths(
    const std::string& reuse_dir) {
  auto before = LoadDistribution(reuse_dir);
  if (!before.ok()) {
    return Status(before.status().code(),
                  fmt::format("--reuse {}: {} (give the directory of the node's earlier release, "
                              "as unpack wrote it)",
                              reuse_dir, before.status().message()));
  }
  std::map<std::string, std::vector<std::string>> by_digest;
  for (const auto& [bundle, entry] : before->bundles) {
    for (const ManifestFile& f : entry.files) by_digest[f.sha256].push_back(bundle + "/" + f.path);
  }
  return by_digest;
}

// Copies a reused file from `reuse_dir` (the same path when it has the digest, else another
// path with it) into `dest`, opened without following links and hashed on the way: the copy
// must be the size and SHA-256 the new manifest lists.
Status CopyReusedFile(const std::string& reuse_dir,
                      const std::map<std::string, std::vector<std::string>>& by_digest,
                      const NodeArchiveFile& f, const std::string& dest,
                      std::vector<uint8_t>* buffer) {
  auto it = by_digest.find(f.file.sha256);
  if (it == by_digest.end()) {
    return Status::NotFound(
        "{}: reused from the earlier release, but {}/distribution.json lists no file with SHA-256 "
        "{} (the archive was made --since another release)",
        f.archive_path, reuse_dir, f.file.sha256);
  }
  const std::vector<std::string>& paths = it->second;
  const std::string from = std::find(paths.begin(), paths.end(), f.archive_path) != paths.end()
                               ? f.archive_path
                               : paths.front();
  const std::string shown = reuse_dir + "/" + from;
  ASSIGN_OR_RETURN(UniqueFd in, OpenRegularFileBeneath(reuse_dir, from));
  std::error_code ec;
  fs::create_directories(fs::path(dest).parent_path(), ec);
  if (ec) return Status::IoError("{}: cannot create directory: {}", dest, ec.message());
  ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(dest));
  HashingSink hashing(&file);
  uint64_t done = 0;
  while (true) {
    const ssize_t n = ::read(in.get(), buffer->data(), buffer->size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError("{}: read failed: {}", shown, std::strerror(errno));
    if (n == 0) break;
    if (static_cast<uint64_t>(n) > f.file.size - done) {
      return Status::Corruption("{}: larger than the {} bytes distribution.json lists for {}",
                                shown, f.file.size, f.archive_path);
    }
    RETURN_IF_ERROR(hashing.Write(std::span(buffer->data(), static_cast<size_t>(n))));
    done += static_cast<uint64_t>(n);
  }
  ASSIGN_OR_RETURN(const std::string digest, hashing.FinishHex());
  if (done != f.file.size || digest != f.file.sha256) {
    return Status::Corruption(
        "{}: {} bytes with SHA-256 {}, but distribution.json lists {} bytes with {} for {} (the "
        "earlier release changed on disk); refused",
        shown, done, digest, f.file.size, f.file.sha256, f.archive_path);
  }
  return file.Commit();
}

// Reads what is left of the zstd stream after the tar end-of-archive marker, so a stream cut
// short (even inside its final checksum) is refused. What follows the marker is never extracted
// (GNU tar and libarchive ignore it too, and libarchive may already have read some of it ahead),
// but at most kMaxTrailingBytes of it are inflated: an endless tail is refused, not decoded.
Status DrainStream(ZstdDecompressor& source, const std::string& archive) {
  constexpr uint64_t kMaxTrailingBytes = 16ull << 20;
  std::vector<uint8_t> buffer(kInflateBufferBytes);
  uint64_t total = 0;
  while (true) {
    ASSIGN_OR_RETURN(const size_t n, source.Read(buffer));
    if (n == 0) return Status::Ok();
    total += n;
    if (total > kMaxTrailingBytes) {
      return Status::Corruption("{}: more than {} bytes after the end of the tar archive; refused",
                                archive, kMaxTrailingBytes);
    }
  }
}

struct HeadMembers {
  std::string manifest;
  std::string signature;
  std::string index;
};

// The three members every node archive starts with, in this order.
Result<HeadMembers> ReadHeadMembers(TarReader& tar, const std::string& archive) {
  const std::pair<std::string_view, uint64_t> expected[] = {
      {kManifestFileName, kMaxManifestBytes},
      {kSignatureFileName, kMaxSignatureFileBytes},
      {kArchiveIndexName, kMaxArchiveIndexBytes}};
  std::string bytes[3];
  for (size_t i = 0; i < 3; ++i) {
    ASSIGN_OR_RETURN(archive_entry * e, tar.Next());
    if (e == nullptr) {
      return Status::Corruption("{}: ends after {} members; a node archive starts with {}, {}, {}",
                                archive, i, kManifestFileName, kSignatureFileName,
                                kArchiveIndexName);
    }
    ASSIGN_OR_RETURN(const std::string name, CheckMember(e, i, archive));
    if (name != expected[i].first) {
      return Status::Corruption(
          "{}: member {} is \"{}\", expected \"{}\" (a node archive starts "
          "with {}, {}, {})",
          archive, i, PrintableName(name), expected[i].first, kManifestFileName, kSignatureFileName,
          kArchiveIndexName);
    }
    tar.set_last_name(name);
    ASSIGN_OR_RETURN(bytes[i], ReadSmallMember(tar, e, archive + ": member \"" + name + "\"",
                                               expected[i].second));
  }
  return HeadMembers{std::move(bytes[0]), std::move(bytes[1]), std::move(bytes[2])};
}

// The index must describe this manifest and only files the node has.
Status CheckIndex(const ArchiveIndex& index, const Distribution& d, const std::string& manifest_sha,
                  const std::map<std::string, const NodeArchiveFile*>& expected,
                  const std::string& what) {
  if (index.manifest_sha256 != manifest_sha) {
    return Status::Corruption(
        "{}: written for another distribution.json (manifest_sha256 {}, the "
        "archive's manifest is {})",
        what, index.manifest_sha256, manifest_sha);
  }
  if (index.release_name != d.release.name || index.release_version != d.release.version) {
    return Status::Corruption("{}: names release \"{}\" version {}, the manifest \"{}\" version {}",
                              what, index.release_name, index.release_version, d.release.name,
                              d.release.version);
  }
  for (const auto& [path, ranges] : index.byte_planes) {
    auto it = expected.find(path);
    if (it == expected.end()) {
      return Status::Corruption("{}: byte planes for \"{}\", which node {} does not have", what,
                                PrintableName(path), index.node);
    }
    RETURN_IF_ERROR(CheckPlaneRanges(ranges, it->second->file.size, what + ": " + path));
  }
  for (const std::string& path : index.reused) {
    if (!expected.count(path)) {
      return Status::Corruption("{}: reuses \"{}\", which node {} does not have", what,
                                PrintableName(path), index.node);
    }
    if (index.byte_planes.count(path)) {
      return Status::Corruption("{}: \"{}\" is both reused and stored with byte planes", what,
                                PrintableName(path));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<UnpackReport> UnpackNode(const UnpackOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.trusted_keys.empty() && !o.allow_unsigned) {
    return Status::InvalidArgument("give a trusted public key, or allow an unchecked signature");
  }
  const std::string& archive = o.archive_path;
  UniqueFd fd(::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound("{}: no such file", archive);
    return Status::IoError("{}: cannot open: {}", archive, std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("{}: not a regular file", archive);
  }
  fs::path out_path = fs::path(o.out_dir).lexically_normal();
  if (!out_path.has_filename()) out_path = out_path.parent_path();  // "dir/" → "dir"
  const std::string out_dir = out_path.string();
  if (out_dir.empty() || out_path.filename() == "." || out_path.filename() == "..") {
    return Status::InvalidArgument("--out \"{}\": name a new directory", o.out_dir);
  }
  // The release lock, as every writer of a release directory takes it (release_stage.h).
  ASSIGN_OR_RETURN(FileLock lock, LockRelease(out_dir));
  RETURN_IF_ERROR(CheckDestination(out_dir));
  ASSIGN_OR_RETURN(TempDir temp, TempDir::Create(out_dir));
  ASSIGN_OR_RETURN(auto source, ZstdDecompressor::Create(fd.get(), archive));
  TarReader tar(source.get(), archive);
  RETURN_IF_ERROR(tar.Open());

  UnpackReport report;
  report.archive_bytes = static_cast<uint64_t>(st.st_size);
  ASSIGN_OR_RETURN(const HeadMembers head, ReadHeadMembers(tar, archive));
  const std::string manifest_name = archive + ": " + std::string(kManifestFileName);
  if (!o.trusted_keys.empty()) {
    ASSIGN_OR_RETURN(
        report.key_id,
        CheckManifestSignature(head.manifest, head.signature, o.trusted_keys, manifest_name,
                               archive + ": " + std::string(kSignatureFileName)));
    report.signature_checked = true;
  }
  ASSIGN_OR_RETURN(const Distribution d, ParseDistribution(head.manifest, manifest_name));
  const std::string index_name = archive + ": " + std::string(kArchiveIndexName);
  ASSIGN_OR_RETURN(const ArchiveIndex index, ParseArchiveIndex(head.index, index_name));
  auto node_files = NodeArchiveFiles(d, index.node);
  if (!node_files.ok()) {
    return Status::Corruption("{}: {}", index_name, node_files.status().message());
  }
  std::map<std::string, const NodeArchiveFile*> expected;
  for (const NodeArchiveFile& f : *node_files) expected[f.archive_path] = &f;
  ASSIGN_OR_RETURN(const std::string manifest_sha, Sha256Hex(head.manifest));
  RETURN_IF_ERROR(CheckIndex(index, d, manifest_sha, expected, index_name));
  RETURN_IF_ERROR(
      WriteFileAtomically(temp.path() + "/" + std::string(kManifestFileName), head.manifest));
  RETURN_IF_ERROR(
      WriteFileAtomically(temp.path() + "/" + std::string(kSignatureFileName), head.signature));

  std::set<std::string> seen = {FoldAsciiCase(kManifestFileName), FoldAsciiCase(kSignatureFileName),
                                FoldAsciiCase(kArchiveIndexName)};
  std::vector<uint8_t> buffer(kDataBufferBytes);
  if (!index.reused.empty()) {
    // A delta archive: the files it leaves out come from the node's earlier release; a member
    // of the same name later is a duplicate.
    if (o.reuse_dir.empty()) {
      return Status::InvalidArgument(
          "{}: a delta archive ({} file{} of node {} left out as unchanged since an earlier "
          "release): give --reuse DIR, the directory of that release",
          archive, index.reused.size(), index.reused.size() == 1 ? "" : "s", index.node);
    }
    ASSIGN_OR_RETURN(const auto by_digest, ReusablePaths(o.reuse_dir));
    for (const std::string& path : index.reused) {
      const NodeArchiveFile& f = *expected.at(path);
      RETURN_IF_ERROR(CopyReusedFile(o.reuse_dir, by_digest, f, temp.path() + "/" + path, &buffer));
      seen.insert(FoldAsciiCase(path));
      ++report.files;
      report.bytes += f.file.size;
      ++report.reused_files;
      report.reused_bytes += f.file.size;
    }
  }
  static const std::vector<PlaneRange> kNone;
  for (size_t ordinal = 3;; ++ordinal) {
    ASSIGN_OR_RETURN(archive_entry * e, tar.Next());
    if (e == nullptr) break;
    ASSIGN_OR_RETURN(const std::string name, CheckMember(e, ordinal, archive));
    tar.set_last_name(name);
    const std::string shown = fmt::format("{}: member \"{}\"", archive, PrintableName(name));
    if (!seen.insert(FoldAsciiCase(name)).second) {
      return Status::Corruption(
          "{}: duplicate member (names are compared ignoring ASCII case); "
          "refused",
          shown);
    }
    auto it = expected.find(name);
    if (it == expected.end()) {
      return Status::Corruption("{}: not listed for node {} in distribution.json; refused", shown,
                                index.node);
    }
    const NodeArchiveFile& f = *it->second;
    const uint64_t header_size = static_cast<uint64_t>(archive_entry_size(e));
    if (header_size != f.file.size) {
      return Status::Corruption("{}: header says {} bytes, distribution.json lists {}; refused",
                                shown, header_size, f.file.size);
    }
    auto planes = index.byte_planes.find(name);
    const auto& ranges = planes == index.byte_planes.end() ? kNone : planes->second;
    RETURN_IF_ERROR(ExtractMember(tar, f, ranges, temp.path() + "/" + name, shown, &buffer));
    ++report.files;
    report.bytes += f.file.size;
    for (const PlaneRange& r : ranges) report.plane_bytes += r.length;
  }
  if (report.files != expected.size()) {
    std::vector<std::string> missing;
    for (const auto& [path, f] : expected) {
      if (!seen.count(FoldAsciiCase(path))) missing.push_back(path);
    }
    return Status::Corruption(
        "{}: {} file{} of node {} missing: {}", archive, missing.size(),
        missing.size() == 1 ? "" : "s", index.node,
        fmt::join(
            missing.size() > 10 ? std::vector(missing.begin(), missing.begin() + 10) : missing,
            ", "));
  }
  RETURN_IF_ERROR(DrainStream(*source, archive));

  // AtomicFile synced every file and its entry; the directories' own entries are synced here,
  // deepest first, before the whole tree is published under its name.
  std::set<std::string, std::greater<>> dirs;
  for (const auto& [path, f] : expected) {
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      dirs.insert(path.substr(0, slash));
    }
  }
  for (const std::string& dir : dirs) RETURN_IF_ERROR(SyncDirectory(temp.path() + "/" + dir));
  RETURN_IF_ERROR(SyncDirectory(temp.path()));
  if (::chmod(temp.path().c_str(), 0755) != 0) {
    return Status::IoError("{}: chmod: {}", temp.path(), std::strerror(errno));
  }
  if (::rename(temp.path().c_str(), out_dir.c_str()) != 0) {
    return Status::IoError("{}: cannot rename {} into place: {}", out_dir, temp.path(),
                           std::strerror(errno));
  }
  temp.Release();
  RETURN_IF_ERROR(
      SyncDirectory(out_path.has_parent_path() ? out_path.parent_path().string() : "."));

  report.out_dir = out_dir;
  report.node = index.node;
  report.release_name = d.release.name;
  report.release_version = d.release.version;
  report.files += 2;
  report.bytes += head.manifest.size() + head.signature.size();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace moedist
