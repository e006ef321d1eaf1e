// Unicode character properties the tokenizer's regexes need: the general category (\p{L},
// \p{N}, ...) and White_Space (\s). Data come from the generated tables in unicode_data.cpp
// (Unicode version in UnicodeVersion()). Thread safety: pure functions over constant tables.
#pragma once

#include <cstdint>
#include <string_view>

namespace moedist::unicode {

// Same order as CATEGORIES in unicode_gen.py; unassigned code points are kCn.
// clang-format off
enum Category : uint8_t {
  kLu, kLl, kLt, kLm, kLo, kMn, kMc, kMe, kNd, kNl, kNo, kPc, kPd, kPs, kPe, kPi, kPf, kPo,
  kSm, kSc, kSk, kSo, kZs, kZl, kZp, kCc, kCf, kCs, kCo, kCn,
};
// clang-format on

// A set of categories as a bit mask (bit i = Category i), so \p{L} is one AND.
using CategoryMask = uint32_t;
constexpr CategoryMask Bit(Category c) {
  return CategoryMask{1} << c;
}
constexpr CategoryMask kLetters = Bit(kLu) | Bit(kLl) | Bit(kLt) | Bit(kLm) | Bit(kLo);
constexpr CategoryMask kMarks = Bit(kMn) | Bit(kMc) | Bit(kMe);
constexpr CategoryMask kNumbers = Bit(kNd) | Bit(kNl) | Bit(kNo);

Category GeneralCategory(char32_t cp);
bool IsWhiteSpace(char32_t cp);
inline bool InCategories(char32_t cp, CategoryMask mask) {
  return (mask & Bit(GeneralCategory(cp))) != 0;
}

// "L", "Lu", "Letter", "Nd", "Decimal_Number", ... (the names regex \p{...} accepts for general
// categories). Returns 0 for names that are not general categories (scripts, binary properties).
CategoryMask CategoryMaskByName(std::string_view name);

std::string_view UnicodeVersion();

}  // namespace moedist::unicode
