#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace moedist {
namespace {

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Page-aligns [offset, offset+length) inside a mapping for madvise.
void Advise(const uint8_t* base, uint64_t size, uint64_t offset, uint64_t length, int advice) {
  if (base == nullptr || offset >= size) return;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t begin = offset / page * page;
  uint64_t end = std::min(size, offset + length);
  if (end <= begin) return;
  ::madvise(const_cast<uint8_t*>(base) + begin, end - begin, advice);
}

}  // namespace

Result<std::shared_ptr<const MappedFile>> MappedFile::Open(const std::string& path) {
  FdCloser fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound("{}: no such file", path);
    return Status::IoError("{}: cannot open: {}", path, std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return Status::IoError("{}: cannot stat: {}", path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument("{}: not a regular file", path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const uint8_t* data = nullptr;
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED) {
      return Status::IoError("{}: cannot mmap {} bytes: {}", path, size, std::strerror(errno));
    }
    data = static_cast<const uint8_t*>(p);
  }
  return std::shared_ptr<const MappedFile>(new MappedFile(path, data, size, fd.release()));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

Status MappedFile::CopyTo(uint64_t offset, uint64_t length, ByteSink& sink) const {
  if (offset > size_ || length > size_ - offset) {
    return Status::Internal("{}: copy of bytes [{}, {}) beyond its {} bytes", path_, offset,
                            offset + length, size_);
  }
  constexpr size_t kBuffer = size_t{4} << 20;
  thread_local std::vector<uint8_t> buffer;
  buffer.resize(kBuffer);
  while (length > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kBuffer, length));
    const ssize_t n = ::pread(fd_, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Status::IoError("{}: read failed at byte {}: {}", path_, offset, std::strerror(errno));
    }
    if (n == 0) {
      return Status::Corruption("{}: ends at byte {}, {} bytes were mapped (truncated meanwhile)",
                                path_, offset, size_);
    }
    RETURN_IF_ERROR(sink.Write({buffer.data(), static_cast<size_t>(n)}));
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

void MappedFile::AdviseSequential(uint64_t offset, uint64_t length) const {
  Advise(data_, size_, offset, length, MADV_SEQUENTIAL);
  Advise(data_, size_, offset, length, MADV_WILLNEED);
}

void MappedFile::AdviseDontNeed(uint64_t offset, uint64_t length) const {
  Advise(data_, size_, offset, length, MADV_DONTNEED);
}

void MappedFile::Prefetch(uint64_t offset, uint64_t length) const {
#ifdef MADV_POPULATE_READ
  Advise(data_, size_, offset, length, MADV_POPULATE_READ);
#else
  (void)offset;
  (void)length;
#endif
}

void MappedFile::ReleaseRange(uint64_t offset, uint64_t length) const {
  Advise(data_, size_, offset, length, MADV_DONTNEED);
  // The descriptor was closed after mmap; the page cache is per file, so a fresh one serves.
  FdCloser fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() >= 0 && offset < size_) {
    ::posix_fadvise(fd.get(), static_cast<off_t>(offset),
                    static_cast<off_t>(std::min(length, size_ - offset)), POSIX_FADV_DONTNEED);
  }
}

Result<std::string> ReadSmallFile(const std::string& path, uint64_t max_bytes) {
  FdCloser fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Status::NotFound("{}: no such file", path);
    return Status::IoError("{}: cannot open: {}", path, std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return Status::IoError("{}: cannot stat: {}", path, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument("{}: not a regular file", path);
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return Status::Corruption(
        "{}: file is {} bytes, larger than the {} byte limit for this kind "
        "of file",
        path, st.st_size, max_bytes);
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError("{}: read failed: {}", path, std::strerror(errno));
    if (n == 0) return Status::IoError("{}: file shrank while reading", path);
    done += static_cast<size_t>(n);
  }
  return out;
}

}  // namespace moedist
