#include "runtime-min/tokenizer_bytelevel.h"

#include <array>
#include <string>

#include "runtime-min/unicode_utf8.h"

namespace moedist {

namespace {

struct ByteTable {
  std::array<char32_t, 256> to_unicode{};
  std::array<std::string, 256> to_utf8;
  std::array<int16_t, 512> from_unicode{};  // every table character is below U+0200
};

const ByteTable& Table() {
  static const ByteTable table = [] {
    ByteTable t;
    t.from_unicode.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      t.to_unicode[b] = printable ? static_cast<char32_t>(b) : next++;
      unicode::AppendUtf8(t.to_utf8[b], t.to_unicode[b]);
      t.from_unicode[t.to_unicode[b]] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return table;
}

}  // namespace

char32_t ByteToUnicode(uint8_t byte) {
  return Table().to_unicode[byte];
}

std::string_view ByteToUnicodeUtf8(uint8_t byte) {
  return Table().to_utf8[byte];
}

int UnicodeToByte(char32_t c) {
  return c < 512 ? Table().from_unicode[c] : -1;
}

}  // namespace moedist
