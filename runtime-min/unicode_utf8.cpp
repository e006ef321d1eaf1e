#include "runtime-min/unicode_utf8.h"

namespace moedist::unicode {
namespace {

// Bytes a maximal subpart starting at s[i] spans: the lead byte plus the continuation bytes
// that could still have begun a valid sequence (Unicode 15, section 3.9, table 3-7).
size_t MaximalSubpart(std::string_view s, size_t i) {
  const Utf8Lead lead = Utf8LeadOf(static_cast<uint8_t>(s[i]));
  if (lead.length == 0) return 1;
  size_t k = 1;
  for (; k < lead.length && i + k < s.size(); ++k) {
    const auto b = static_cast<uint8_t>(s[i + k]);
    if (b < (k == 1 ? lead.lo : 0x80) || b > (k == 1 ? lead.hi : 0xBF)) break;
  }
  return k;
}

}  // namespace

size_t FindInvalidUtf8(std::string_view s) {
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = DecodeUtf8At(s, i, &cp);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string Utf8Lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  char32_t cp;
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = DecodeUtf8At(bytes, i, &cp);
    if (n > 0) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      i += MaximalSubpart(bytes, i);
    }
  }
  return out;
}

}  // namespace moedist::unicode
