// GPT-2's byte-to-unicode table, shared by the ByteLevel pre-tokenizer (through the BPE model)
// and the ByteLevel decoder: the 188 printable Latin-1 bytes stand for themselves and the other
// 68 bytes map to U+0100.. in order, so every byte string is a printable token string.
#pragma once

#include <cstdint>
#include <string_view>

namespace moedist {

char32_t ByteToUnicode(uint8_t byte);
// The same as UTF-8 text (1 or 2 bytes).
std::string_view ByteToUnicodeUtf8(uint8_t byte);
// The byte a table character stands for, or -1 for characters outside the table.
int UnicodeToByte(char32_t c);

}  // namespace moedist
