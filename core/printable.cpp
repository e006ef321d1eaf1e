#include "core/printable.h"

#include <fmt/format.h>

#include "core/utf8.h"

namespace moedist {

std::string Printable(std::string_view s, const PrintableOptions& options) {
  const bool cut = options.max_bytes > 0 && s.size() > options.max_bytes;
  if (cut) s = s.substr(0, options.max_bytes);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      const bool control = c < 0x20 || c == 0x7F;
      const bool kept = options.keep_newlines && (c == '\n' || c == '\t');
      const bool quote = options.escape_quotes && (c == '"' || c == '\\');
      if ((control && !kept) || quote) {
        out += fmt::format("\\x{:02x}", c);
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    char32_t cp;
    const size_t n = DecodeUtf8At(s, i, &cp);
    // C1 controls (U+0080..U+009F, encoded C2 80..C2 9F) act on terminals like C0 ones.
    const bool c1 = n == 2 && cp <= 0x9F;
    if (n == 0 || c1) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  if (cut) out += "...";
  return out;
}

}  // namespace moedist
