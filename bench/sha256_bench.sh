#!/usr/bin/env bash
# Benchmark: SHA-256 of a ~1 GiB file (page cache warm) by moedist's hasher (O_DIRECT reads on
# a second thread, the default; read() into a reused 1 MiB buffer; and mmap), against `openssl
# dgst -sha256` and `sha256sum` on the same file in the same run; then 4 files of SIZE/4 hashed on 1 and 2 threads (verify -j), against
# sha256sum on the same files. Best of 3 each; prints GB/s, ratios and /proc/loadavg, and
# checks that all tools agree on the digest.
# Usage: bench/sha256_bench.sh [BUILD_DIR] [SIZE_MIB]   (defaults: build, 1024)
set -euo pipefail
build=${1:-build}
size_mib=${2:-1024}
bench="$build/manifest/sha256_bench"
[[ -x "$bench" ]] || { echo "build $bench first (ninja -C $build sha256_bench)"; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/moedist-sha256-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
grep -q -w sha_ni /proc/cpuinfo && echo "cpu: SHA-NI present" || echo "cpu: no SHA-NI"
openssl rand -out "$work/big.bin" $((size_mib * 1048576))
bytes=$(stat -c %s "$work/big.bin")
cat "$work/big.bin" >/dev/null  # warm the page cache: this measures hashing, not the disk

# On a loaded machine wall time measures the neighbours too, so CPU time (user + sys) is
# printed beside it: GB per CPU-second is what the hashing itself costs.
best_of_3() {  # "<best wall s> <CPU s of that run>"; the command's stdout goes to $work/out
  local best="" cpu=""
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" >"$work/out"
    read -r wall user sys <"$work/time"
    if [[ -z "$best" ]] || (( $(echo "$wall < $best" | bc -l) )); then
      best=$wall; cpu=$(echo "$user + $sys" | bc -l)
    fi
  done
  echo "$best $cpu"
}
gbps() { echo "$bytes / $1 / 1000000000" | bc -l; }
row() {  # label, "wall cpu"
  local wall cpu; read -r wall cpu <<<"$2"
  printf '%-22s %8.3f s wall %7.2f GB/s   %8.3f s CPU %7.2f GB/CPU-s\n' "$1" "$wall" \
    "$(gbps "$wall")" "$cpu" "$(gbps "$cpu")"
}
wall() { echo "${1%% *}"; }
cpu() { echo "${1##* }"; }

t_read=$(best_of_3 "$bench" "$work/big.bin" --method read --repeat 1); d_read=$(awk '{print $5}' "$work/out")
t_mmap=$(best_of_3 "$bench" "$work/big.bin" --method mmap --repeat 1); d_mmap=$(awk '{print $5}' "$work/out")
t_direct=$(best_of_3 "$bench" "$work/big.bin" --method direct --repeat 1); d_direct=$(awk '{print $5}' "$work/out")
t_ossl=$(best_of_3 openssl dgst -sha256 "$work/big.bin"); d_ossl=$(awk '{print $NF}' "$work/out")
t_sum=$(best_of_3 sha256sum "$work/big.bin"); d_sum=$(awk '{print $1}' "$work/out")
if [[ "$d_read" != "$d_ossl" || "$d_mmap" != "$d_ossl" || "$d_direct" != "$d_ossl" || "$d_sum" != "$d_ossl" ]]; then
  echo "DIGESTS DISAGREE: read $d_read mmap $d_mmap direct $d_direct openssl $d_ossl sha256sum $d_sum"; exit 1
fi
echo "one file, $bytes bytes, digest $d_ossl (all five agree); whole process, best wall of 3"
row "moedist O_DIRECT" "$t_direct"
row "moedist read()" "$t_read"
row "moedist mmap" "$t_mmap"
row "openssl dgst -sha256" "$t_ossl"
row "sha256sum" "$t_sum"
printf 'ratios (>1 = moedist read() faster): vs openssl %.2fx wall, %.2fx CPU; vs sha256sum %.2fx wall, %.2fx CPU\n' \
  "$(echo "$(wall "$t_ossl") / $(wall "$t_read")" | bc -l)" "$(echo "$(cpu "$t_ossl") / $(cpu "$t_read")" | bc -l)" \
  "$(echo "$(wall "$t_sum") / $(wall "$t_read")" | bc -l)" "$(echo "$(cpu "$t_sum") / $(cpu "$t_read")" | bc -l)"

split -n 4 -d "$work/big.bin" "$work/part."
rm "$work/big.bin"
cat "$work"/part.* >/dev/null
t_j1=$(best_of_3 "$bench" --threads 1 --repeat 1 "$work"/part.*)
t_j2=$(best_of_3 "$bench" --threads 2 --repeat 1 "$work"/part.*)
t_sums=$(best_of_3 sha256sum "$work"/part.*)
echo "four files of $((bytes / 4)) bytes"
row "moedist -j 1" "$t_j1"
row "moedist -j 2" "$t_j2"
row "sha256sum (serial)" "$t_sums"
printf 'wall ratios: -j 2 / -j 1 %.2fx, -j 2 / sha256sum %.2fx\n' \
  "$(echo "$(wall "$t_j1") / $(wall "$t_j2")" | bc -l)" "$(echo "$(wall "$t_sums") / $(wall "$t_j2")" | bc -l)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
