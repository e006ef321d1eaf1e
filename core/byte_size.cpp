#include "core/byte_size.h"

#include <cctype>
#include <cmath>

namespace moedist {
namespace {

// Binary power of a suffix letter (0 for none), or -1 if unknown.
int SuffixPower(char c) {
  switch (std::toupper(static_cast<unsigned char>(c))) {
    case 'K': return 1;
    case 'M': return 2;
    case 'G': return 3;
    case 'T': return 4;
    default: return -1;
  }
}

}  // namespace

Result<uint64_t> ParseByteSize(std::string_view text, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(
        "{} \"{}\": {} (expected bytes, or a number with K, M, G or "
        "T: 512M, 2G, 1.5GiB)",
        what, text, why);
  };
  size_t i = 0;
  uint64_t whole = 0;
  bool digits = false;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    const uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (whole > (UINT64_MAX - d) / 10) return bad("too large");
    whole = whole * 10 + d;
    digits = true;
  }
  // Fraction digits are kept as a decimal fraction of the unit.
  double fraction = 0, scale = 0.1;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      fraction += (text[i] - '0') * scale;
      scale /= 10;
      digits = true;
    }
  }
  if (!digits) return bad("no number");
  int power = 0;
  std::string_view rest = text.substr(i);
  if (!rest.empty() && (rest == "B" || rest == "b")) rest = {};
  if (!rest.empty()) {
    power = SuffixPower(rest[0]);
    if (power < 0) return bad("unknown suffix");
    rest.remove_prefix(1);
    if (rest == "iB" || rest == "ib" || rest == "B" || rest == "b") rest = {};
    if (!rest.empty()) return bad("unknown suffix");
  }
  const uint64_t unit = uint64_t{1} << (10 * power);
  if (power == 0 && fraction != 0) return bad("a fraction of a byte");
  if (whole > UINT64_MAX / unit) return bad("too large");
  const uint64_t value = whole * unit;
  const double extra = std::floor(fraction * static_cast<double>(unit));
  if (static_cast<double>(UINT64_MAX - value) < extra) return bad("too large");
  return value + static_cast<uint64_t>(extra);
}

std::string FormatByteSize(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.2f} {}", v, kUnits[u]);
}

}  // namespace moedist
