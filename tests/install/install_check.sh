#!/usr/bin/env bash
# ctest install.prefix: `cmake --install` into an empty temporary prefix puts the binary, its bash
# completion, every schema and the docs where GNUInstallDirs says (cmake/Packaging.cmake), and
# the installed binary runs from there.
# Usage: install_check.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
status=0
need() {
  if [ -f "$prefix/$1" ]; then echo "ok   $1"; else echo "FAIL: $prefix/$1 was not installed"; status=1; fi
}
need bin/moedist
[ -x "$prefix/bin/moedist" ] || { echo "FAIL: bin/moedist is not executable"; status=1; }
need share/bash-completion/completions/moedist
for f in "$src"/schemas/*.schema.json; do need "share/moedist/schemas/$(basename "$f")"; done
(cd "$src/docs" && find . -type f -name '*.md') | while read -r f; do
  [ -f "$prefix/share/doc/moedist/$f" ] || { echo "FAIL: docs/$f not in share/doc/moedist"; exit 1; }
done || status=1
echo "ok   share/doc/moedist: $(cd "$src/docs" && find . -type f -name '*.md' | wc -l) docs"
need share/doc/moedist/README.md
# The installed binary, run from the prefix: --help lists the commands, --version the version.
help=$("$prefix/bin/moedist" --help) || { echo "FAIL: installed moedist --help exited $?"; status=1; }
for c in inspect pack validate completion; do
  grep -qE "^ +$c( |$)" <<<"$help" || { echo "FAIL: --help does not list $c"; status=1; }
done
"$prefix/bin/moedist" --version | grep -qE '^moedist [0-9]+\.[0-9]+\.[0-9]+$' ||
  { echo "FAIL: installed moedist --version"; status=1; }
[ $status = 0 ] && echo "installed moedist runs: $("$prefix/bin/moedist" --version)"
exit $status
