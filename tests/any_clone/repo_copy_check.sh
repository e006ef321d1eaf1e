#!/usr/bin/env bash
# ctest tests.repo_copy: the tests read nothing outside the repository. The git-tracked files are
# copied into an empty temporary directory; fixture-reading tests (already built) run against the
# copy (MOEDIST_TEST_SOURCE_DIR / MOEDIST_TEST_FIXTURE_ROOT, tests/test_dirs.h) while, in a private
# mount namespace, the original checkout's parent directory (so the checkout, anything beside it
# such as a sibling folder of the project, and the build tree) is hidden under an empty tmpfs. A test that read an
# untracked file, a file beside the repository or the compiled-in checkout path fails here.
# Usage: repo_copy_check.sh SOURCE_DIR TEST_EXE:GTEST_FILTER...
set -euo pipefail
src=$(cd "$1" && pwd)
shift
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || { echo "SKIP: $src is not a git checkout"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/repo" "$tmp/bin"
# Tracked files as they are in the work tree (uncommitted edits included, deleted ones skipped).
(cd "$src" && git ls-files -z | xargs -0 -I{} sh -c '[ ! -e "$1" ] || printf "%s\0" "$1"' _ {} |
  tar --null -T - -cf -) | tar -xf - -C "$tmp/repo"
echo "copied $(cd "$tmp/repo" && find . -type f | wc -l) tracked files to $tmp/repo"
# tests/fixtures/FILES, which the tests check before running (tests/fixture_environment.cpp),
# must list exactly the tracked fixtures.
if ! diff <(cd "$src/tests/fixtures" && git ls-files . | grep -vx FILES | sort) \
  <(grep -v '^#' "$src/tests/fixtures/FILES" | sort); then
  echo "FAIL: tests/fixtures/FILES differs from the tracked fixtures (< tracked, > listed);" \
    "regenerate: (cd tests/fixtures && git ls-files . | grep -vx FILES) > tests/fixtures/FILES"
  exit 1
fi
runs=()
for spec in "$@"; do
  exe=${spec%%:*}
  cp "$exe" "$tmp/bin/"
  runs+=("$tmp/bin/$(basename "$exe"):${spec#*:}")
done
# What to hide: the checkout's parent, unless the copy itself is inside it (then the checkout).
hide=$(dirname "$src")
case "$tmp/" in "$hide"/* | "$src"/*) hide=$src ;; esac
[ "$hide" != / ] || hide=$src
cat >"$tmp/run.sh" <<'INNER'
set -euo pipefail
tmp=$1 hide=$2 isolated=$3
shift 3
if [ "$isolated" = 1 ]; then
  mount -t tmpfs -o size=1m moedist-hidden "$hide"
  [ -z "$(ls -A "$hide")" ] || { echo "FAIL: could not hide $hide"; exit 1; }
fi
status=0
for spec in "$@"; do
  exe=${spec%%:*}
  echo "== $(basename "$exe") --gtest_filter=${spec#*:}"
  (cd "$tmp/repo" && MOEDIST_TEST_SOURCE_DIR="$tmp/repo" MOEDIST_TEST_FIXTURE_ROOT="$tmp/repo/tests" \
    "$exe" --gtest_filter="${spec#*:}" --gtest_brief=1) || status=1
done
exit $status
INNER
if unshare --mount --map-root-user true 2>/dev/null; then
  echo "hiding $hide in a private mount namespace"
  unshare --mount --map-root-user bash "$tmp/run.sh" "$tmp" "$hide" 1 "${runs[@]}"
else
  # Containers may forbid namespaces; the copy still proves every fixture is tracked.
  echo "note: unshare is not permitted here, so $hide stays visible; running against the copy"
  bash "$tmp/run.sh" "$tmp" "$hide" 0 "${runs[@]}"
fi
