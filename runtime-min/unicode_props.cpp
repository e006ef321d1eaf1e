#include "runtime-min/unicode_props.h"

#include <algorithm>
#include <array>

#include "runtime-min/unicode_data.h"

namespace moedist::unicode {
namespace {

using unicode_data::kCategoryRunCount;
using unicode_data::kCategoryRuns;

Category LookUpCategory(char32_t cp) {
  const auto* end = kCategoryRuns + kCategoryRunCount;
  const auto* it = std::upper_bound(kCategoryRuns, end, static_cast<uint32_t>(cp),
                                    [](uint32_t c, const auto& run) { return c < run.first; });
  return static_cast<Category>((it - 1)->category);  // kCategoryRuns[0].first == 0
}

// Latin-1 is most of what tokenizers see; a direct table skips the binary search for it.
const std::array<Category, 256>& Latin1Categories() {
  static const std::array<Category, 256> table = [] {
    std::array<Category, 256> t{};
    for (char32_t c = 0; c < 256; ++c) t[c] = LookUpCategory(c);
    return t;
  }();
  return table;
}

struct NamedMask {
  std::string_view short_name, long_name;
  CategoryMask mask;
};

constexpr CategoryMask kPunctuation =
    Bit(kPc) | Bit(kPd) | Bit(kPs) | Bit(kPe) | Bit(kPi) | Bit(kPf) | Bit(kPo);
constexpr CategoryMask kSymbols = Bit(kSm) | Bit(kSc) | Bit(kSk) | Bit(kSo);
constexpr CategoryMask kSeparators = Bit(kZs) | Bit(kZl) | Bit(kZp);
constexpr CategoryMask kOthers = Bit(kCc) | Bit(kCf) | Bit(kCs) | Bit(kCo) | Bit(kCn);

constexpr NamedMask kNames[] = {
    {"L", "Letter", kLetters},
    {"LC", "Cased_Letter", Bit(kLu) | Bit(kLl) | Bit(kLt)},
    {"Lu", "Uppercase_Letter", Bit(kLu)},
    {"Ll", "Lowercase_Letter", Bit(kLl)},
    {"Lt", "Titlecase_Letter", Bit(kLt)},
    {"Lm", "Modifier_Letter", Bit(kLm)},
    {"Lo", "Other_Letter", Bit(kLo)},
    {"M", "Mark", kMarks},
    {"Mn", "Nonspacing_Mark", Bit(kMn)},
    {"Mc", "Spacing_Mark", Bit(kMc)},
    {"Me", "Enclosing_Mark", Bit(kMe)},
    {"N", "Number", kNumbers},
    {"Nd", "Decimal_Number", Bit(kNd)},
    {"Nl", "Letter_Number", Bit(kNl)},
    {"No", "Other_Number", Bit(kNo)},
    {"P", "Punctuation", kPunctuation},
    {"Pc", "Connector_Punctuation", Bit(kPc)},
    {"Pd", "Dash_Punctuation", Bit(kPd)},
    {"Ps", "Open_Punctuation", Bit(kPs)},
    {"Pe", "Close_Punctuation", Bit(kPe)},
    {"Pi", "Initial_Punctuation", Bit(kPi)},
    {"Pf", "Final_Punctuation", Bit(kPf)},
    {"Po", "Other_Punctuation", Bit(kPo)},
    {"S", "Symbol", kSymbols},
    {"Sm", "Math_Symbol", Bit(kSm)},
    {"Sc", "Currency_Symbol", Bit(kSc)},
    {"Sk", "Modifier_Symbol", Bit(kSk)},
    {"So", "Other_Symbol", Bit(kSo)},
    {"Z", "Separator", kSeparators},
    {"Zs", "Space_Separator", Bit(kZs)},
    {"Zl", "Line_Separator", Bit(kZl)},
    {"Zp", "Paragraph_Separator", Bit(kZp)},
    {"C", "Other", kOthers},
    {"Cc", "Control", Bit(kCc)},
    {"Cf", "Format", Bit(kCf)},
    {"Cs", "Surrogate", Bit(kCs)},
    {"Co", "Private_Use", Bit(kCo)},
    {"Cn", "Unassigned", Bit(kCn)},
};

}  // namespace

Category GeneralCategory(char32_t cp) {
  if (cp < 256) return Latin1Categories()[cp];
  if (cp > 0x10FFFF) return kCn;
  return LookUpCategory(cp);
}

bool IsWhiteSpace(char32_t cp) {
  for (size_t i = 0; i < unicode_data::kWhiteSpaceCount; ++i) {
    const auto& r = unicode_data::kWhiteSpace[i];
    if (cp < r.first) return false;
    if (cp <= r.last) return true;
  }
  return false;
}

CategoryMask CategoryMaskByName(std::string_view name) {
  for (const auto& n : kNames) {
    if (name == n.short_name || name == n.long_name) return n.mask;
  }
  return 0;
}

std::string_view UnicodeVersion() {
  return unicode_data::kUnicodeVersion;
}

}  // namespace moedist::unicode
