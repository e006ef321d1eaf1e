#include "runtime-min/unicode_nfc.h"

#include <algorithm>
#include <vector>

#include "runtime-min/unicode_data.h"
#include "runtime-min/unicode_utf8.h"

namespace moedist::unicode {
namespace {

namespace ud = unicode_data;

// Hangul syllables compose and decompose by arithmetic (Unicode 15, section 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

// Nothing below U+0300 has a combining class, a decomposition or a non-Yes quick-check.
constexpr char32_t kFirstInteresting = 0x300;

uint8_t CombiningClass(char32_t cp) {
  if (cp < kFirstInteresting) return 0;
  const auto* end = ud::kCombiningRuns + ud::kCombiningRunCount;
  const auto* it = std::upper_bound(ud::kCombiningRuns, end, static_cast<uint32_t>(cp),
                                    [](uint32_t c, const auto& r) { return c < r.first; });
  if (it == ud::kCombiningRuns) return 0;
  --it;
  return cp <= it->last ? it->ccc : 0;
}

bool QuickCheckNotYes(char32_t cp) {
  if (cp < kFirstInteresting) return false;
  const auto* end = ud::kNfcQuickCheckNotYes + ud::kNfcQuickCheckNotYesCount;
  const auto* it = std::upper_bound(ud::kNfcQuickCheckNotYes, end, static_cast<uint32_t>(cp),
                                    [](uint32_t c, const auto& r) { return c < r.first; });
  return it != ud::kNfcQuickCheckNotYes && cp <= (it - 1)->last;
}

const ud::Decomposition* FindDecomposition(char32_t cp) {
  if (cp < kFirstInteresting - 0x140) return nullptr;  // first mapping is U+00C0
  const auto* end = ud::kDecompositions + ud::kDecompositionCount;
  const auto* it = std::lower_bound(ud::kDecompositions, end, static_cast<uint32_t>(cp),
                                    [](const auto& d, uint32_t c) { return d.code_point < c; });
  return it != end && it->code_point == cp ? it : nullptr;
}

void Decompose(char32_t cp, std::vector<char32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const ud::Decomposition* d = FindDecomposition(cp);
  if (d == nullptr) {
    out.push_back(cp);
    return;
  }
  Decompose(d->first, out);  // depth is bounded by the data (at most 4 levels)
  if (d->second != 0) Decompose(d->second, out);
}

// The primary composite of a starter and the next character, or 0 when there is none.
char32_t Compose(char32_t first, char32_t second) {
  if (first >= kLBase && first < kLBase + kLCount && second >= kVBase &&
      second < kVBase + kVCount) {
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  }
  if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 &&
      second > kTBase && second < kTBase + kTCount) {
    return first + (second - kTBase);
  }
  const auto* end = ud::kCompositions + ud::kCompositionCount;
  const auto* it = std::lower_bound(
      ud::kCompositions, end, std::pair<uint32_t, uint32_t>(first, second),
      [](const auto& c, const auto& key) {
        return c.first < key.first || (c.first == key.first && c.second < key.second);
      });
  return it != end && it->first == first && it->second == second ? it->composite : 0;
}

// The NFC quick-check (UAX #15, section 9): true means "certainly NFC already".
bool IsNfcQuick(std::string_view text) {
  uint8_t last_ccc = 0;
  char32_t cp;
  for (size_t i = 0; i < text.size();) {
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      last_ccc = 0;
      ++i;
      continue;
    }
    const size_t n = DecodeUtf8At(text, i, &cp);
    if (n == 0) return false;
    i += n;
    const uint8_t ccc = CombiningClass(cp);
    if ((ccc != 0 && last_ccc > ccc) || QuickCheckNotYes(cp)) return false;
    last_ccc = ccc;
  }
  return true;
}

}  // namespace

std::string ToNfc(std::string_view text) {
  if (IsNfcQuick(text)) return std::string(text);
  std::vector<char32_t> d;
  d.reserve(text.size());
  char32_t cp;
  for (size_t i = 0; i < text.size();) {
    const size_t n = DecodeUtf8At(text, i, &cp);
    if (n == 0) {  // callers validate; keep going rather than loop forever
      cp = 0xFFFD;
      ++i;
    } else {
      i += n;
    }
    Decompose(cp, d);
  }
  // Canonical ordering: stable-sort each run of non-starters by combining class.
  for (size_t i = 0; i < d.size();) {
    if (CombiningClass(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && CombiningClass(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + i, d.begin() + j,
                     [](char32_t a, char32_t b) { return CombiningClass(a) < CombiningClass(b); });
    i = j;
  }
  // Canonical composition: a character joins the last starter unless something between them
  // blocks it (a starter, or a mark of the same or higher class).
  std::vector<char32_t> c;
  c.reserve(d.size());
  size_t starter = SIZE_MAX;
  uint8_t last_ccc = 0;
  for (char32_t ch : d) {
    const uint8_t ccc = CombiningClass(ch);
    if (starter != SIZE_MAX) {
      const bool adjacent = starter + 1 == c.size();
      if (adjacent || (last_ccc != 0 && last_ccc < ccc)) {
        if (char32_t composite = Compose(c[starter], ch); composite != 0) {
          c[starter] = composite;
          continue;
        }
      }
    }
    if (ccc == 0) starter = c.size();
    last_ccc = ccc;
    c.push_back(ch);
  }
  std::string out;
  out.reserve(text.size());
  for (char32_t ch : c) AppendUtf8(out, ch);
  return out;
}

}  // namespace moedist::unicode
