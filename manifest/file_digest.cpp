#include "manifest/file_digest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <future>
#include <numeric>
#include <optional>
#include <system_error>
#include <thread>

namespace moedist {
namespace {

// Fetched once: an explicit fetch avoids OpenSSL 3's implicit provider lookup on every init.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// Maps the chunk's pages in one call: faulting them in one at a time costs about as much as
// hashing them (0.67 s per GiB here). Best effort: kernels before 5.14 lack the advice.
void PopulateForRead(void* p, uint64_t n) {
#ifdef MADV_POPULATE_READ
  ::madvise(p, n, MADV_POPULATE_READ);
#else
  (void)p;
  (void)n;
#endif
}

// A file read up to its listed size that still has bytes: refused where the reading stopped.
Status GrewPastCap(std::string_view name, uint64_t max_bytes) {
  return Status::Corruption("{}: grew past the {} bytes listed while being read (reading stopped)",
                            name, max_bytes);
}

std::string Errno(int err) {
  return std::strerror(err);
}

// Hashes fd from offset 0 with O_DIRECT reads of kDirectChunk bytes, the next chunk read on a
// second thread while this one hashes the current one. The device (or the hypervisor's cache)
// copies into the buffer by DMA, so the CPU only hashes: a read() out of the page cache costs
// 0.09 s per GiB of copying on top of SHA-256's 0.645 s (docs/benchmarks.md). nullopt when the
// file system refuses O_DIRECT (tmpfs before Linux 6.6, some FUSE): the caller reads normally.
// The page cache is bypassed, so hashing a release does not evict what the node is serving;
// the kernel writes back dirty pages of the range before reading it, so the bytes are current.
std::optional<Result<uint64_t>> HashDirect(int fd, std::string_view name, uint64_t max_bytes,
                                           Sha256& hash) {
  constexpr size_t kDirectChunk = size_t{8} << 20;
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) return std::nullopt;
  struct RestoreFlags {
    int fd, flags;
    ~RestoreFlags() { ::fcntl(fd, F_SETFL, flags); }
  } restore{fd, flags};
  struct FreeDeleter {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  using Buffer = std::unique_ptr<uint8_t, FreeDeleter>;
  // 2 MiB-aligned and advised into huge pages where the kernel allows: each O_DIRECT read pins
  // the buffer's pages, 4 huge pages instead of 2048 small ones (system time per GiB hashed
  // 0.08 s -> 0.03 s here).
  constexpr size_t kHuge = size_t{2} << 20;
  Buffer a(static_cast<uint8_t*>(std::aligned_alloc(kHuge, kDirectChunk)));
  Buffer b(static_cast<uint8_t*>(std::aligned_alloc(kHuge, kDirectChunk)));
  if (!a || !b) return std::nullopt;
  ::madvise(a.get(), kDirectChunk, MADV_HUGEPAGE);
  ::madvise(b.get(), kDirectChunk, MADV_HUGEPAGE);
  // Returns bytes read or -errno.
  auto read_at = [fd](uint8_t* into, uint64_t offset) -> ssize_t {
    while (true) {
      const ssize_t n = ::pread(fd, into, kDirectChunk, static_cast<off_t>(offset));
      if (n >= 0) return n;
      if (errno != EINTR) return -errno;
    }
  };
  ssize_t n = read_at(a.get(), 0);
  if (n == -EINVAL) return std::nullopt;  // O_DIRECT accepted by fcntl but not by this file
  uint8_t* current = a.get();
  uint8_t* next = b.get();
  uint64_t total = 0;
  while (n > 0) {
    total += static_cast<uint64_t>(n);
    if (total > max_bytes) {
      return GrewPastCap(name, max_bytes);
    }
    // A short chunk is the file's end; a full one may be followed by more.
    const bool more = static_cast<size_t>(n) == kDirectChunk;
    std::future<ssize_t> ahead;
    if (more) {
      try {
        ahead = std::async(std::launch::async, read_at, next, total);
      } catch (const std::system_error&) {
        // No thread to be had: read after hashing instead.
      }
    }
    const Status updated = hash.Update({current, static_cast<size_t>(n)});
    const ssize_t got = !more ? 0 : ahead.valid() ? ahead.get() : read_at(next, total);
    RETURN_IF_ERROR(updated);
    if (got < 0) {
      return Status::IoError("{}: read failed at byte {}: {}", name, total, Errno(-got));
    }
    n = got;
    std::swap(current, next);
  }
  if (n < 0) return Status::IoError("{}: read failed at byte 0: {}", name, Errno(-n));
  return total;
}

// True when the bytes at the start, middle and end of the file are in the page cache (a
// preadv2 with RWF_NOWAIT succeeds only then). False where the kernel cannot tell.
bool LooksCached(int fd, uint64_t size) {
  uint8_t byte;
  for (uint64_t offset : {uint64_t{0}, size / 2, size - 1}) {
    struct iovec v = {&byte, 1};
    if (::preadv2(fd, &v, 1, static_cast<off_t>(offset), RWF_NOWAIT) != 1) return false;
  }
  return true;
}

bool UseDirect(int fd, uint64_t size, const DigestOptions& o) {
  if (size < o.direct_min_bytes) return false;
  if (o.method == DigestReadMethod::kDirect) return true;
  if (o.method != DigestReadMethod::kAuto) return false;
  return o.concurrent_files <= 1 || !LooksCached(fd, size);
}

}  // namespace

std::string HexEncode(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return out;
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  bool started = false;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;

Status Sha256::Update(std::span<const uint8_t> bytes) {
  if (impl_->ctx == nullptr) impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr || Sha256Md() == nullptr) {
    return Status::Internal("OpenSSL: cannot create a SHA-256 context");
  }
  if (!impl_->started) {
    if (EVP_DigestInit_ex(impl_->ctx, Sha256Md(), nullptr) != 1) {
      return Status::Internal("OpenSSL: SHA-256 init failed");
    }
    impl_->started = true;
  }
  if (!bytes.empty() && EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size()) != 1) {
    return Status::Internal("OpenSSL: SHA-256 update failed");
  }
  return Status::Ok();
}

Result<Sha256Digest> Sha256::Finish() {
  RETURN_IF_ERROR(Update({}));  // initialises an empty stream
  Sha256Digest out{};
  unsigned int len = 0;
  impl_->started = false;
  if (EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) != 1 || len != out.size()) {
    return Status::Internal("OpenSSL: SHA-256 final failed");
  }
  return out;
}

Result<std::string> Sha256Hex(std::span<const uint8_t> bytes) {
  Sha256 h;
  RETURN_IF_ERROR(h.Update(bytes));
  ASSIGN_OR_RETURN(Sha256Digest d, h.Finish());
  return HexEncode(d);
}

Status HashingSink::Write(std::span<const uint8_t> bytes) {
  RETURN_IF_ERROR(hash_.Update(bytes));
  count_ += bytes.size();
  return next_ != nullptr ? next_->Write(bytes) : Status::Ok();
}

Result<std::string> HashingSink::FinishHex() {
  ASSIGN_OR_RETURN(Sha256Digest d, hash_.Finish());
  return HexEncode(d);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<UniqueFd> OpenRegularFileBeneath(const std::string& root, std::string_view relative) {
  const std::string shown = fmt::format("{}/{}", root, relative);
  UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("{}: directory does not exist", root);
    return Status::IoError("{}: cannot open directory: {}", root, Errno(err));
  }
  size_t begin = 0;
  while (true) {
    const size_t slash = relative.find('/', begin);
    const bool last = slash == std::string_view::npos;
    const std::string comp(relative.substr(begin, last ? relative.npos : slash - begin));
    const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (last ? O_NONBLOCK : O_DIRECTORY);
    UniqueFd next(::openat(dir.get(), comp.c_str(), flags));
    if (next.get() < 0) {
      const int err = errno;
      if (err == ENOENT) return Status::NotFound("{}: no such file", shown);
      if (err == ELOOP) {
        return Status::Corruption("{}: \"{}\" is a symbolic link (refused, never followed)", shown,
                                  comp);
      }
      if (err == ENOTDIR) {
        return Status::Corruption("{}: \"{}\" is not a directory or is a symbolic link", shown,
                                  comp);
      }
      return Status::IoError("{}: cannot open: {}", shown, Errno(err));
    }
    if (last) {
      struct stat st;
      if (::fstat(next.get(), &st) != 0) {
        return Status::IoError("{}: cannot stat: {}", shown, Errno(errno));
      }
      if (!S_ISREG(st.st_mode)) return Status::Corruption("{}: not a regular file", shown);
      // O_NONBLOCK only kept a FIFO from blocking the open; regular files ignore it.
      return next;
    }
    dir = std::move(next);
    begin = slash + 1;
  }
}

Result<FileDigest> DigestFd(int fd, std::string_view name, uint64_t max_bytes,
                            const DigestOptions& options, std::vector<uint8_t>* buffer) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IoError("{}: cannot stat: {}", name, Errno(errno));
  if (!S_ISREG(st.st_mode)) return Status::Corruption("{}: not a regular file", name);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    return Status::Corruption("{}: {} bytes, more than the {} listed (not read)", name, size,
                              max_bytes);
  }
  Sha256 hash;
  FileDigest out;
  out.stamp = StampOf(st);
  if (options.method == DigestReadMethod::kMmap && size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return Status::IoError("{}: cannot mmap: {}", name, Errno(errno));
    ::madvise(p, size, MADV_SEQUENTIAL);
    const auto* data = static_cast<const uint8_t*>(p);
    constexpr uint64_t kChunk = 64ull << 20;
    Status st_update;
    for (uint64_t off = 0; off < size && st_update.ok(); off += kChunk) {
      const uint64_t n = std::min(kChunk, size - off);
      PopulateForRead(const_cast<uint8_t*>(data) + off, n);
      st_update = hash.Update({data + off, static_cast<size_t>(n)});
      ::madvise(const_cast<uint8_t*>(data) + off, n, MADV_DONTNEED);  // keep RSS bounded
    }
    ::munmap(p, size);
    RETURN_IF_ERROR(st_update);
    out.size = size;
  } else if (std::optional<Result<uint64_t>> direct;
             UseDirect(fd, size, options) &&
             (direct = HashDirect(fd, name, max_bytes, hash)).has_value()) {
    if (!direct->ok()) return direct->status();
    if (**direct != size) {
      return Status::Corruption("{}: {} bytes read, {} when opened (changed while being read)",
                                name, **direct, size);
    }
    out.size = size;
  } else {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    buffer->resize(std::max<size_t>(options.buffer_bytes, 4096));
    uint64_t total = 0;
    while (true) {
      ssize_t n = ::pread(fd, buffer->data(), buffer->size(), static_cast<off_t>(total));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        return Status::IoError("{}: read failed at byte {}: {}", name, total, Errno(errno));
      if (n == 0) break;
      total += static_cast<uint64_t>(n);
      if (total > max_bytes) {
        return GrewPastCap(name, max_bytes);
      }
      RETURN_IF_ERROR(hash.Update({buffer->data(), static_cast<size_t>(n)}));
    }
    out.size = total;
  }
  ASSIGN_OR_RETURN(Sha256Digest d, hash.Finish());
  out.sha256 = HexEncode(d);
  return out;
}

Result<FileDigest> DigestFile(const std::string& path, const DigestOptions& options,
                              uint64_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound("{}: no such file", path);
    return Status::IoError("{}: cannot open: {}", path, Errno(errno));
  }
  std::vector<uint8_t> buffer;
  return DigestFd(fd.get(), path, max_bytes, options, &buffer);
}

std::vector<Result<FileDigest>> DigestFiles(const std::vector<DigestJob>& jobs, int threads,
                                            const DigestOptions& options) {
  std::vector<Result<FileDigest>> results(jobs.size(), Status::Internal("not hashed"));
  std::vector<size_t> order(jobs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return jobs[a].size_hint > jobs[b].size_hint; });
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<size_t>(threads, std::max<size_t>(jobs.size(), 1)));
  std::atomic<size_t> next{0};
  DigestOptions per_file = options;
  per_file.concurrent_files = threads;
  auto worker = [&] {
    std::vector<uint8_t> buffer;
    for (size_t i = next++; i < order.size(); i = next++) {
      const DigestJob& job = jobs[order[i]];
      const std::string shown = fmt::format("{}/{}", job.root, job.relative);
      auto fd = OpenRegularFileBeneath(job.root, job.relative);
      if (!fd.ok()) {
        results[order[i]] = fd.status();
        continue;
      }
      if (job.known != nullptr && job.known->stamp.known()) {
        struct stat st;
        if (::fstat(fd->get(), &st) == 0 && StampOf(st) == job.known->stamp &&
            job.known->size <= job.max_bytes) {
          results[order[i]] = *job.known;
          continue;
        }
      }
      results[order[i]] = DigestFd(fd->get(), shown, job.max_bytes, per_file, &buffer);
    }
  };
  if (threads == 1) {
    worker();
    return results;
  }
  std::vector<std::thread> pool;
  try {
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  } catch (const std::system_error&) {
    // Fewer threads than asked (resource limits): the ones that started share the work.
  }
  worker();  // this thread is one of the workers
  for (std::thread& t : pool) t.join();
  return results;
}

}  // namespace moedist
