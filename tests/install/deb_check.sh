#!/usr/bin/env bash
# ctest install.deb_package: cpack builds the Debian package (cmake/Packaging.cmake); it holds the
# binary, the completion, the schemas and the docs under /usr, and its Depends names the Debian
# package of every shared library the binary links (readelf NEEDED, resolved with ldd, owner
# from dpkg -S), so the package cannot install without what the binary needs.
# Usage: deb_check.sh BUILD_DIR MOEDIST_EXE
set -euo pipefail
build=$1
exe=$2
command -v dpkg-deb >/dev/null && command -v dpkg >/dev/null ||
  { echo "SKIP: not a Debian system (no dpkg-deb)"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >"$out/cpack.log" 2>&1 ||
  { cat "$out/cpack.log"; echo "FAIL: cpack"; exit 1; }
deb=$(compgen -G "$out/moedist_*.deb" | head -1)
[ -n "$deb" ] || { echo "FAIL: no moedist_*.deb in $out"; ls "$out"; exit 1; }
echo "package: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"
status=0
contents=$(dpkg-deb -c "$deb" | awk '{print $NF}')
for f in ./usr/bin/moedist ./usr/share/bash-completion/completions/moedist \
  ./usr/share/moedist/schemas/distribution.schema.json ./usr/share/doc/moedist/README.md \
  ./usr/share/doc/moedist/commands/pack.md; do
  grep -qxF "$f" <<<"$contents" || { echo "FAIL: $f is not in the package"; status=1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# The package names Depends mentions (alternatives included), one a line, versions dropped.
named=$(tr ',|' '\n\n' <<<"$depends" | sed 's/(.*)//; s/^ *//; s/ *$//' | grep -v '^$')
# Every NEEDED library -> the file ldd resolves it to -> the Debian package that owns that file ->
# the dependency that package's shlibs file asks of programs linking it (as dpkg-shlibdeps does:
# linking libopenblas.so.0 asks for libopenblas0, whichever variant provides the file), or the
# owner itself when it has no shlibs entry.
for lib in $(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  path=$(ldd "$exe" | awk -v l="$lib" '$1 == l { print $3 }')
  [ -n "$path" ] || { echo "FAIL: ldd cannot resolve $lib"; status=1; continue; }
  owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null || true)
  owner=${owner%%:*}
  if [ -z "$owner" ]; then echo "FAIL: no Debian package owns $path ($lib)"; status=1; continue; fi
  soname=${lib%%.so.*}
  soversion=${lib##*.so.}
  want=$(cat /var/lib/dpkg/info/"$owner".shlibs /var/lib/dpkg/info/"$owner":*.shlibs 2>/dev/null |
    awk -v n="$soname" -v v="$soversion" '$1 == n && $2 == v { print $3; exit }' || true)
  want=${want:-$owner}
  if grep -qxF "$want" <<<"$named"; then
    echo "ok   $lib -> $owner -> $want"
  else
    echo "FAIL: the binary links $lib ($owner) but Depends does not name $want"; status=1
  fi
done
exit $status
