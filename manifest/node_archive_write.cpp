// PackageNode (node_archive.h): a node's bundles → one .tar.zst. libarchive frames the tar
// stream and hands it to a write callback; that callback feeds ZstdCompressSink, which feeds a
// HashingSink (the archive's own digest) in front of the AtomicFile.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "core/atomic_file.h"
#include "core/mapped_file.h"
#include "manifest/archive_index.h"
#include "manifest/file_digest.h"
#include "manifest/node_archive.h"
#include "manifest/release_diff.h"
#include "manifest/release_time.h"
#include "manifest/zstd_stream.h"

namespace moedist {
namespace {

constexpr size_t kReadBufferBytes = 4u << 20;

// The libarchive writer; on any early exit the archive is failed, so nothing more is written.
class TarWriter {
 public:
  TarWriter(ByteSink* out, std::string what) : out_(out), what_(std::move(what)) {}
  ~TarWriter() {
    if (a_ == nullptr) return;
    if (!closed_) archive_write_fail(a_);
    archive_write_free(a_);
  }
  TarWriter(const TarWriter&) = delete;

  Status Open() {
    a_ = archive_write_new();
    if (a_ == nullptr) return Status::Internal("libarchive: cannot create a writer");
    // pax restricted: plain ustar headers unless a name or size needs a pax record. No
    // blocking: libarchive passes each write through instead of padding to 10 KiB records.
    if (archive_write_set_format_pax_restricted(a_) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a_, 0) != ARCHIVE_OK ||
        archive_write_open(a_, this, nullptr, &TarWriter::WriteCallback, nullptr) != ARCHIVE_OK) {
      return Error("cannot start the tar stream");
    }
    return Status::Ok();
  }

  Status BeginEntry(const std::string& name, uint64_t size, int64_t mtime) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                               archive_entry_free);
    archive_entry_set_pathname_utf8(e.get(), name.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_mtime(e.get(), mtime, 0);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    if (archive_write_header(a_, e.get()) != ARCHIVE_OK) return Error("entry " + name);
    return Status::Ok();
  }

  Status WriteData(std::span<const uint8_t> bytes) {
    const la_ssize_t n = archive_write_data(a_, bytes.data(), bytes.size());
    if (n < 0 || static_cast<size_t>(n) != bytes.size()) return Error("writing entry data");
    return Status::Ok();
  }

  Status Close() {
    closed_ = true;
    if (archive_write_close(a_) != ARCHIVE_OK) return Error("finishing the tar stream");
    return Status::Ok();
  }

 private:
  static la_ssize_t WriteCallback(archive*, void* self, const void* buf, size_t n) {
    auto* w = static_cast<TarWriter*>(self);
    Status st = w->out_->Write(std::span(static_cast<const uint8_t*>(buf), n));
    if (!st.ok()) {
      w->sink_status_ = std::move(st);
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }
  Status Error(const std::string& doing) const {
    if (!sink_status_.ok()) return sink_status_;
    const char* msg = archive_error_string(a_);
    return Status::IoError("{}: libarchive: {}: {}", what_, doing, msg ? msg : "unknown error");
  }

  archive* a_ = nullptr;
  ByteSink* out_;
  std::string what_;
  Status sink_status_;
  bool closed_ = false;
};

class TarDataSink final : public ByteSink {
 public:
  explicit TarDataSink(TarWriter* w) : w_(w) {}
  Status Write(std::span<const uint8_t> bytes) override { return w_->WriteData(bytes); }

 private:
  TarWriter* w_;
};

Status WriteMemoryEntry(TarWriter& tar, const std::string& name, std::string_view bytes,
                        int64_t mtime) {
  RETURN_IF_ERROR(tar.BeginEntry(name, bytes.size(), mtime));
  return tar.WriteData(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

// Streams one bundle file into the tar entry, hashing the source bytes on the way and
// refusing a file whose size or digest differs from the manifest.
Status WriteFileEntry(TarWriter& tar, const std::string& dist, const NodeArchiveFile& f,
                      const std::vector<PlaneRange>& ranges, int64_t mtime,
                      std::vector<uint8_t>* buffer) {
  const std::string shown = dist + "/" + f.archive_path;
  ASSIGN_OR_RETURN(UniqueFd fd, OpenRegularFileBeneath(dist, f.archive_path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::IoError("{}: cannot stat", shown);
  if (static_cast<uint64_t>(st.st_size) != f.file.size) {
    return Status::Corruption("{}: {} bytes on disk, distribution.json lists {}", shown, st.st_size,
                              f.file.size);
  }
  RETURN_IF_ERROR(tar.BeginEntry(f.archive_path, f.file.size, mtime));
  TarDataSink data(&tar);
  PlaneTransformSink planes(PlaneTransformSink::kSplit, ranges, &data);
  HashingSink hashing(&planes);
  uint64_t done = 0;
  while (done < f.file.size) {
    const size_t want = std::min<uint64_t>(buffer->size(), f.file.size - done);
    const ssize_t n = ::read(fd.get(), buffer->data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError("{}: read failed: {}", shown, std::strerror(errno));
    if (n == 0) return Status::Corruption("{}: shrank to {} bytes while being read", shown, done);
    RETURN_IF_ERROR(hashing.Write(std::span(buffer->data(), static_cast<size_t>(n))));
    done += static_cast<uint64_t>(n);
  }
  RETURN_IF_ERROR(planes.Finish(shown));
  ASSIGN_OR_RETURN(const std::string digest, hashing.FinishHex());
  if (digest != f.file.sha256) {
    return Status::Corruption(
        "{}: SHA-256 {} does not match distribution.json ({}); run moedist "
        "verify",
        shown, digest, f.file.sha256);
  }
  return Status::Ok();
}

std::string DefaultArchiveName(const Distribution& d, const std::string& node) {
  return fmt::format("{}-v{}-{}{}", d.release.name, d.release.version, node, kArchiveSuffix);
}

}  // namespace

Result<PackageReport> PackageNode(const PackageOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.threads < 1) return Status::InvalidArgument("threads must be >= 1, got {}", o.threads);
  const std::string manifest_path = o.dist_dir + "/" + std::string(kManifestFileName);
  const std::string sig_path = o.dist_dir + "/" + std::string(kSignatureFileName);
  ASSIGN_OR_RETURN(const std::string manifest_bytes, ReadManifestFile(manifest_path));
  auto sig_bytes = ReadSmallFile(sig_path, kMaxSignatureFileBytes);
  if (!sig_bytes.ok()) {
    return Status(sig_bytes.status().code(),
                  fmt::format("{} (an archive carries the signature: run moedist sign first)",
                              sig_bytes.status().message()));
  }
  PackageReport report;
  if (!o.trusted_keys.empty()) {
    RETURN_IF_ERROR(
        CheckManifestSignature(manifest_bytes, *sig_bytes, o.trusted_keys, manifest_path, sig_path)
            .status());
    report.signature_checked = true;
  }
  ASSIGN_OR_RETURN(const Distribution d, ParseDistribution(manifest_bytes, manifest_path));
  ASSIGN_OR_RETURN(const std::vector<NodeArchiveFile> files, NodeArchiveFiles(d, o.node));
  ASSIGN_OR_RETURN(const int64_t mtime, ParseRfc3339Utc(d.release.created, "release.created"));

  // Delta: the node's files whose bytes the earlier release gave the same node.
  std::set<std::string> earlier_digests;
  if (!o.since.empty()) {
    ASSIGN_OR_RETURN(const Distribution before, LoadDistribution(o.since));
    auto before_files = NodeArchiveFiles(before, o.node);
    if (!before_files.ok()) {
      return Status::InvalidArgument("--since {}: {}", o.since, before_files.status().message());
    }
    for (const NodeArchiveFile& f : *before_files) earlier_digests.insert(f.file.sha256);
  }
  std::vector<NodeArchiveFile> carried;
  ArchiveIndex index;
  for (const NodeArchiveFile& f : files) {
    if (earlier_digests.count(f.file.sha256)) {
      index.reused.push_back(f.archive_path);
      ++report.reused_files;
      report.reused_bytes += f.file.size;
    } else {
      carried.push_back(f);
    }
  }
  std::sort(index.reused.begin(), index.reused.end());
  index.node = o.node;
  index.release_name = d.release.name;
  index.release_version = d.release.version;
  ASSIGN_OR_RETURN(index.manifest_sha256, Sha256Hex(manifest_bytes));
  PlaneChoiceOptions choice_options;
  choice_options.mode = o.planes;
  choice_options.level = o.level;
  for (const NodeArchiveFile& f : carried) {
    ASSIGN_OR_RETURN(PlaneChoice c,
                     ChoosePlaneRanges(o.dist_dir + "/" + f.archive_path, choice_options));
    report.plane_candidates += c.candidates;
    report.sample_raw_compressed += c.sample_raw_compressed;
    report.sample_split_compressed += c.sample_split_compressed;
    if (c.ranges.empty()) continue;
    RETURN_IF_ERROR(CheckPlaneRanges(c.ranges, f.file.size, f.archive_path));
    ++report.plane_files;
    report.plane_ranges += c.tensors_split;
    for (const PlaneRange& r : c.ranges) report.plane_bytes += r.length;
    index.byte_planes[f.archive_path] = std::move(c.ranges);
  }

  report.archive_path = o.out_path.empty() ? DefaultArchiveName(d, o.node) : o.out_path;
  ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(report.archive_path));
  HashingSink archive_hash(&out);
  ASSIGN_OR_RETURN(auto zstd, ZstdCompressSink::Create(&archive_hash, {o.level, o.threads},
                                                       report.archive_path));
  {
    TarWriter tar(zstd.get(), report.archive_path);
    RETURN_IF_ERROR(tar.Open());
    RETURN_IF_ERROR(WriteMemoryEntry(tar, std::string(kManifestFileName), manifest_bytes, mtime));
    RETURN_IF_ERROR(WriteMemoryEntry(tar, std::string(kSignatureFileName), *sig_bytes, mtime));
    RETURN_IF_ERROR(
        WriteMemoryEntry(tar, std::string(kArchiveIndexName), SerializeArchiveIndex(index), mtime));
    std::vector<uint8_t> buffer(kReadBufferBytes);
    static const std::vector<PlaneRange> kNone;
    for (const NodeArchiveFile& f : carried) {
      auto it = index.byte_planes.find(f.archive_path);
      RETURN_IF_ERROR(WriteFileEntry(
          tar, o.dist_dir, f, it == index.byte_planes.end() ? kNone : it->second, mtime, &buffer));
      report.file_bytes += f.file.size;
    }
    RETURN_IF_ERROR(tar.Close());
  }
  RETURN_IF_ERROR(zstd->Finish());
  report.archive_bytes = archive_hash.bytes_written();
  ASSIGN_OR_RETURN(report.archive_sha256, archive_hash.FinishHex());
  RETURN_IF_ERROR(out.Commit());

  report.node = o.node;
  report.release_name = d.release.name;
  report.release_version = d.release.version;
  report.files = carried.size() + 2;
  report.file_bytes += manifest_bytes.size() + sig_bytes->size();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace moedist
