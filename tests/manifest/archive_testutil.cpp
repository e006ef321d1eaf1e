#include "tests/manifest/archive_testutil.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <cstring>

namespace moedist::testing {
namespace {

void PutOctal(char* field, size_t width, uint64_t value) {
  std::string digits(width - 1, '0');
  for (size_t i = width - 1; i-- > 0 && value > 0; value >>= 3) digits[i] = char('0' + (value & 7));
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

uint64_t GetOctal(const char* field, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width && field[i] >= '0' && field[i] <= '7'; ++i)
    v = v * 8 + (field[i] - '0');
  return v;
}

std::string Header(const TarMember& m, uint64_t size) {
  std::string h(512, '\0');
  std::string name = m.name, prefix;
  if (name.size() > 100) {
    const size_t slash = name.rfind('/', name.size() - 1 - 0);
    EXPECT_NE(slash, std::string::npos) << name;
    prefix = name.substr(0, slash);
    name = name.substr(slash + 1);
  }
  std::memcpy(&h[0], name.data(), std::min<size_t>(name.size(), 100));
  PutOctal(&h[100], 8, m.mode);
  PutOctal(&h[108], 8, 0);
  PutOctal(&h[116], 8, 0);
  PutOctal(&h[124], 12, size);
  PutOctal(&h[136], 12, 1735689600);
  h[156] = m.type;
  std::memcpy(&h[157], m.link.data(), std::min<size_t>(m.link.size(), 100));
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  PutOctal(&h[329], 8, 0);
  PutOctal(&h[337], 8, 0);
  std::memcpy(&h[345], prefix.data(), std::min<size_t>(prefix.size(), 155));
  std::memset(&h[148], ' ', 8);
  uint32_t sum = 0;
  for (unsigned char c : h) sum += c;
  PutOctal(&h[148], 7, sum);
  h[155] = ' ';
  return h;
}

}  // namespace

std::string WriteUstar(const std::vector<TarMember>& members) {
  std::string out;
  for (const TarMember& m : members) {
    out += Header(m, m.header_size.value_or(m.data.size()));
    out += m.data;
    out.append((512 - m.data.size() % 512) % 512, '\0');
  }
  out.append(1024, '\0');
  return out;
}

std::vector<TarMember> ReadUstar(std::string_view tar) {
  std::vector<TarMember> out;
  size_t pos = 0;
  while (pos + 512 <= tar.size()) {
    const char* h = tar.data() + pos;
    if (h[0] == '\0') break;
    TarMember m;
    m.name = std::string(h, strnlen(h, 100));
    const std::string prefix(h + 345, strnlen(h + 345, 155));
    if (!prefix.empty()) m.name = prefix + "/" + m.name;
    m.type = h[156];
    m.mode = static_cast<uint32_t>(GetOctal(h + 100, 8));
    const uint64_t size = GetOctal(h + 124, 12);
    EXPECT_EQ(m.type, '0') << "only regular files expected, got " << m.name;
    m.data = std::string(tar.substr(pos + 512, size));
    pos += 512 + (size + 511) / 512 * 512;
    out.push_back(std::move(m));
  }
  return out;
}

std::string ZstdCompress(std::string_view bytes, int level, int window_log) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  if (window_log > 0) ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log);
  std::string out;
  std::string buf(ZSTD_CStreamOutSize(), '\0');
  // Streamed in pieces, so the frame header cannot shrink the window to the input size.
  const size_t piece = 4096;
  for (size_t pos = 0;; pos += piece) {
    const bool last = pos + piece >= bytes.size();
    ZSTD_inBuffer in{bytes.data() + std::min(pos, bytes.size()),
                     std::min(piece, bytes.size() - std::min(pos, bytes.size())), 0};
    size_t r;
    do {
      ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
      r = ZSTD_compressStream2(c, &ob, &in, last ? ZSTD_e_end : ZSTD_e_continue);
      EXPECT_FALSE(ZSTD_isError(r)) << ZSTD_getErrorName(r);
      out.append(buf.data(), ob.pos);
    } while (last ? r != 0 : in.pos < in.size);
    if (last) break;
  }
  ZSTD_freeCCtx(c);
  return out;
}

std::string ZstdDecompress(std::string_view bytes) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  std::string out;
  std::string buf(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  while (true) {
    ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
    const size_t r = ZSTD_decompressStream(d, &ob, &in);
    EXPECT_FALSE(ZSTD_isError(r)) << ZSTD_getErrorName(r);
    if (ZSTD_isError(r)) break;
    out.append(buf.data(), ob.pos);
    if (in.pos == in.size && ob.pos < ob.size) break;
  }
  ZSTD_freeDCtx(d);
  return out;
}

}  // namespace moedist::testing
