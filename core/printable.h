// Text that came from files or from disk (names in a tar archive, tensor names, a path), made safe
// to print in an error message, a terminal or a log: a control character (which may move the
// cursor or change colours), DEL, a C1 control and any byte that is not part of well-formed UTF-8
// is written as \xNN; well-formed UTF-8 text is kept as it is, so non-ASCII names stay readable.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace moedist {

struct PrintableOptions {
  bool keep_newlines = false;  // '\n' and '\t' kept (multi-line messages)
  bool escape_quotes = false;  // '"' and '\\' escaped too (a name printed between quotes)
  size_t max_bytes = 0;        // 0 = no limit; otherwise cut there and end with "..."
};

std::string Printable(std::string_view s, const PrintableOptions& options = {});

}  // namespace moedist
