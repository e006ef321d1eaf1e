#include "manifest/release_time.h"

#include <chrono>

namespace moedist {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

Result<int64_t> ParseRfc3339Utc(std::string_view text, std::string_view what) {
  using namespace std::chrono;
  auto bad = [&](std::string_view why) {
    return Status::Corruption(
        "{}: \"{}\" is not an RFC 3339 UTC time of the form "
        "YYYY-MM-DDTHH:MM:SSZ ({})",
        what, text.substr(0, 40), why);
  };
  if (text.size() != 20) return bad("wrong length");
  int y, mo, d, h, mi, s;
  if (!Digits(text, 0, 4, &y) || text[4] != '-' || !Digits(text, 5, 2, &mo) || text[7] != '-' ||
      !Digits(text, 8, 2, &d) || text[10] != 'T' || !Digits(text, 11, 2, &h) || text[13] != ':' ||
      !Digits(text, 14, 2, &mi) || text[16] != ':' || !Digits(text, 17, 2, &s) || text[19] != 'Z') {
    return bad("wrong layout");
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad("no such date");
  if (h > 23 || mi > 59 || s > 59) return bad("no such time of day");
  const sys_seconds t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
  return static_cast<int64_t>(t.time_since_epoch().count());
}

std::string FormatRfc3339Utc(int64_t seconds_since_epoch) {
  using namespace std::chrono;
  const sys_seconds t{seconds{seconds_since_epoch}};
  const sys_days day_start = floor<days>(t);
  const year_month_day ymd{day_start};
  const hh_mm_ss hms{t - day_start};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

int64_t NowUnixSeconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace moedist
