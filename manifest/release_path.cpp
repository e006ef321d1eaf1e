#include "manifest/release_path.h"

#include <map>

#include "core/printable.h"

namespace moedist {

std::string PrintableName(std::string_view s) {
  return Printable(s, {.keep_newlines = false, .escape_quotes = true, .max_bytes = 1100});
}

Status CheckReleasePath(std::string_view path, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return Status::Corruption("{}: path \"{}\" refused: {}", what, PrintableName(path), why);
  };
  if (path.empty()) return bad("empty path");
  if (path.size() > kMaxReleasePathBytes) {
    return bad(fmt::format("{} bytes, more than {}", path.size(), kMaxReleasePathBytes));
  }
  for (unsigned char c : path) {
    if (c == '\0') return bad("contains NUL");
    if (c == '\\') return bad("contains a backslash (paths are '/'-separated)");
    if (c < 0x20 || c == 0x7F) return bad("contains a control character");
  }
  if (path.front() == '/') return bad("absolute path");
  size_t begin = 0;
  while (true) {
    size_t end = path.find('/', begin);
    std::string_view comp =
        path.substr(begin, end == std::string_view::npos ? path.npos : end - begin);
    if (comp.empty()) return bad("empty component");
    if (comp == "." || comp == "..") return bad(fmt::format("\"{}\" component", comp));
    if (comp.size() > kMaxPathComponentBytes) {
      return bad(fmt::format("a component of {} bytes, more than {}", comp.size(),
                             kMaxPathComponentBytes));
    }
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
  return Status::Ok();
}

Status CheckReleaseName(std::string_view name, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return Status::Corruption("{}: name \"{}\" refused: {}", what, PrintableName(name), why);
  };
  if (name.empty()) return bad("empty");
  if (name.size() > kMaxReleaseNameBytes) {
    return bad(fmt::format("{} bytes, more than {}", name.size(), kMaxReleaseNameBytes));
  }
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front())) return bad("must start with a letter or digit");
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') {
      return bad("only letters, digits, '.', '_' and '-' are allowed");
    }
  }
  return Status::Ok();
}

std::string FoldAsciiCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Status CheckNoDuplicates(const std::vector<std::string>& names, std::string_view what) {
  std::map<std::string, const std::string*> seen;
  for (const std::string& n : names) {
    auto [it, inserted] = seen.emplace(FoldAsciiCase(n), &n);
    if (inserted) continue;
    if (*it->second == n) {
      return Status::Corruption("{}: \"{}\" appears twice", what, PrintableName(n));
    }
    return Status::Corruption(
        "{}: \"{}\" and \"{}\" differ only in letter case (refused: they "
        "are one file on case-insensitive file systems)",
        what, PrintableName(*it->second), PrintableName(n));
  }
  return Status::Ok();
}

}  // namespace moedist
