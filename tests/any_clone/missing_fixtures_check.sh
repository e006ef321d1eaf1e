#!/usr/bin/env bash
# ctest tests.missing_fixtures: a missing or unreadable fixture fails cleanly. Each fixture-reading
# test binary runs twice with a broken fixture folder (MOEDIST_TEST_FIXTURE_ROOT, tests/test_dirs.h):
# empty, and a copy of tests/fixtures with one file unreadable (chmod 000; skipped as root, who
# reads it anyway) or removed. Each run must exit 1 (a test failure, not a signal) and print
# "cannot read fixture <that path>" (tests/fixture_environment.cpp).
# Usage: missing_fixtures_check.sh SOURCE_DIR TEST_EXE:GTEST_FILTER...
set -euo pipefail
src=$1
shift
tmp=$(mktemp -d)
trap 'chmod -R u+rwX "$tmp"; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/empty" "$tmp/broken"
cp -r "$src/tests/fixtures" "$tmp/broken/"
victim=fixtures/hf-tiny/llama4/config.json
chmod 000 "$tmp/broken/$victim"
if cat "$tmp/broken/$victim" >/dev/null 2>&1; then rm "$tmp/broken/$victim"; fi  # root reads 000
status=0
expect_clean_failure() {  # expect_clean_failure FIXTURE_ROOT PATH EXE FILTER
  local rc=0 log="$tmp/log"
  MOEDIST_TEST_FIXTURE_ROOT="$1" "$3" --gtest_filter="$4" >"$log" 2>&1 || rc=$?
  if [ $rc -ne 1 ]; then
    tail -15 "$log"; echo "FAIL: $(basename "$3") with $2 unreadable exited $rc (want 1)"; status=1
  elif ! grep -qF "cannot read fixture $2" "$log"; then
    tail -15 "$log"; echo "FAIL: $(basename "$3") did not name $2"; status=1
  else
    echo "ok   $(basename "$3"): exit 1 naming $2"
  fi
}
for spec in "$@"; do
  exe=${spec%%:*}
  filter=${spec#*:}
  expect_clean_failure "$tmp/empty" "$tmp/empty/fixtures/FILES" "$exe" "$filter"
  expect_clean_failure "$tmp/broken" "$tmp/broken/$victim" "$exe" "$filter"
done
exit $status
