// libFuzzer target: ReadLastAccepted (the last-accepted record of `verify --last-accepted`,
// manifest/last_accepted.h) on arbitrary bytes, written to a scratch file first (the reader
// only takes a path). Any input must give a record or an error (fail closed: never "nothing
// accepted" for a file that exists). An accepted record has a valid release name and a version
// >= 1, and judges itself as the same release and a version below it as a rollback.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "manifest/last_accepted.h"
#include "manifest/release_path.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using moedist::fuzz::Fail;
  static const auto dir = moedist::fuzz::ScratchDir("last_accepted");
  const auto path = dir / "last-accepted.json";
  moedist::fuzz::WriteFile(path, {reinterpret_cast<const char*>(data), size});
  auto last = moedist::ReadLastAccepted(path.string());
  if (!last.ok()) return 0;
  if (!last->has_value()) Fail("an existing file read as nothing accepted");
  const moedist::AcceptedRelease& r = **last;
  if (r.version < 1) Fail("version < 1 accepted");
  if (!moedist::CheckReleaseName(r.name, "fuzz").ok()) Fail("invalid release name accepted");
  using moedist::Freshness;
  if (moedist::JudgeFreshness(*last, r) != Freshness::kSame) Fail("record not the same as itself");
  moedist::AcceptedRelease older = r;
  older.version = r.version - 1;
  if (older.version >= 1 && moedist::JudgeFreshness(*last, older) != Freshness::kRollback) {
    Fail("lower version not a rollback");
  }
  (void)moedist::DescribeFreshness(Freshness::kRollback, *last, older);
  return 0;
}
