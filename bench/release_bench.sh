#!/usr/bin/env bash
# Release benchmarks of issue 5 in one run, each against a baseline measured in the same run on
# the same bytes (style.md item 10):
#   1. SHA-256: moedist's hasher with its default method (one file at a time: O_DIRECT reads
#      on a second thread; several at once: read() from the page cache where the files are
#      cached) and with read() alone, on 1 and 2 threads, vs `openssl speed -evp sha256`
#      (16 KiB blocks, -multi 2 for two processes);
#   2. unquantized `moedist pack` of a synthetic checkpoint (make_synthetic_checkpoint --preset
#      stream3g: Qwen3-30B-A3B widths, 64 experts, 5 layers, ~3.4 GB of bf16) with a custom
#      two-group plan vs `cp -r` + `sync` of the same checkpoint; pack's peak RSS
#      (/usr/bin/time -v) against the bound 1 GiB + the largest tensor;
#   3. quantize / dequantize / dot GB/s per type on 1 and 2 threads (quant_bench);
#   4. package / unpack (PackageNode / UnpackNode, what `moedist package` and `unpack` call,
#      through archive_bench) of that checkpoint as a one-node release at zstd -1 and -3 vs
#      `tar -c | zstd -L` (-3 is what `tar --zstd` uses) on the same files, and extraction vs
#      `zstd -d | tar -x` + sync.
# Page caches are warmed first: the figures measure the tools, not the disk. Prints the machine,
# the date and /proc/loadavg before and after; on a shared machine the neighbours' load shows
# in every wall-clock figure, so CPU seconds are printed beside them where it matters.
# Usage: bench/release_bench.sh [BUILD_DIR] [WORK_DIR]     (defaults: build, a temp dir)
set -euo pipefail
build=${1:-build}
work=${2:-$(mktemp -d "${TMPDIR:-/tmp}/moedist-release-bench.XXXXXX")}
moedist="$build/apps/moedist"
sha="$build/manifest/sha256_bench"
quant="$build/quant/quant_bench"
synth="$build/bench/make_synthetic_checkpoint"
archive="$build/manifest/archive_bench"
for exe in "$sha" "$quant" "$synth" "$archive"; do
  [[ -x "$exe" ]] || { echo "build $exe first (ninja -C $build moedist sha256_bench quant_bench make_synthetic_checkpoint archive_bench)"; exit 2; }
done
for tool in openssl zstd tar bc python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/install-deps.sh)"; exit 2; }
done
mkdir -p "$work"
[[ -n "${2:-}" ]] || trap 'rm -rf "$work"' EXIT

echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
echo "== date: $(date -u +%Y-%m-%dT%H:%M:%SZ); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -q -w sha_ni /proc/cpuinfo && echo "== cpu: SHA-NI present" || echo "== cpu: no SHA-NI"
ratio() { echo "scale=3; $1 / $2" | bc -l; }
# Runs a command under /usr/bin/time; sets WALL, CPU (user+sys) and RSS_KB.
timed() {
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
    echo "FAILED: $*"; cat "$work/err"; exit 1; }
  read -r WALL user sys RSS_KB <"$work/time"
  CPU=$(echo "$user + $sys" | bc -l)
}

echo
echo "## 1. SHA-256 throughput vs openssl speed -evp sha256"
openssl rand -out "$work/sha.bin" $((1024 * 1048576))
split -n 2 -d "$work/sha.bin" "$work/sha.part."
cat "$work"/sha.* >/dev/null
# openssl speed divides by user CPU time unless -elapsed is given; on a shared machine wall
# time includes the neighbours, so both are measured for both tools and compared like for like.
timed "$sha" "$work/sha.bin" --method read --repeat 3
read -r _ _ _ read1 _ <"$work/out"; read1_cpu=$(echo "3 * 1073741824 / $CPU / 1000000000" | bc -l)
timed "$sha" "$work/sha.bin" --method auto --repeat 3
read -r _ _ _ ours1 _ <"$work/out"; ours1_cpu=$(echo "3 * 1073741824 / $CPU / 1000000000" | bc -l)
timed "$sha" --threads 2 --repeat 3 "$work"/sha.part.*
read -r _ _ _ ours2 _ <"$work/out"
ossl() { openssl speed -mr "$@" -seconds 3 -bytes 16384 -evp sha256 2>/dev/null | awk -F: '/^\+F:/ {v=$4} END {print v / 1000000000}'; }
ossl1=$(ossl -elapsed); ossl1_cpu=$(ossl)
ossl2=$(ossl -elapsed -multi 2)
printf '%-48s %7.2f GB/s wall %7.2f GB/CPU-s\n' "moedist default, 1 thread (1 GiB, O_DIRECT)" "$ours1" "$ours1_cpu" \
  "moedist, 1 thread (1 GiB file, read())" "$read1" "$read1_cpu" \
  "openssl speed -evp sha256 (16 KiB blocks)" "$ossl1" "$ossl1_cpu"
printf '%-48s %7.2f GB/s wall\n' "moedist default, 2 threads (2 x 512 MiB, cached)" "$ours2" \
  "openssl speed -evp sha256 -multi 2 -elapsed" "$ossl2"
echo "ratio moedist/openssl, 1 thread: $(ratio "$ours1" "$ossl1")x wall, $(ratio "$ours1_cpu" "$ossl1_cpu")x per CPU-second (target >= 0.9);" \
  "2 threads: $(ratio "$ours2" "$ossl2")x wall; moedist 2 threads / 1 thread: $(ratio "$ours2" "$ours1")x wall (target >= 1.7)"
rm -f "$work"/sha.*

echo
echo "## 2. unquantized pack vs cp of the same bytes"
ckpt="$work/ckpt"
[[ -f "$ckpt/config.json" ]] || "$synth" "$ckpt" --preset stream3g
python3 - "$ckpt" "$work/plan.json" <<'EOF'
import json, struct, sys, glob, os
ckpt, plan = sys.argv[1], sys.argv[2]
cfg = json.load(open(os.path.join(ckpt, "config.json")))
n, layers = cfg["num_experts"], cfg["num_hidden_layers"]
third = (n - n // 8) // 2
layer = {"groups": [list(range(0, third)), list(range(third, 2 * third))],
         "overlay": list(range(2 * third, n))}
json.dump({"schema_version": 1, "num_experts": n, "top_k": cfg["num_experts_per_tok"],
           "strategy": "custom", "layers": {str(l): layer for l in range(layers)}},
          open(plan, "w"))
largest = 0
for f in glob.glob(os.path.join(ckpt, "*.safetensors")):
    with open(f, "rb") as fh:
        hlen = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(hlen))
    for k, v in header.items():
        if k != "__metadata__":
            largest = max(largest, v["data_offsets"][1] - v["data_offsets"][0])
open(os.path.join(os.path.dirname(plan), "largest"), "w").write(str(largest))
EOF
largest=$(cat "$work/largest")
ckpt_bytes=$(du -sb "$ckpt" | cut -f1)
cat "$ckpt"/* >/dev/null
if [[ ! -x "$moedist" ]]; then
  echo "skipped: $moedist is not built (ninja -C $build moedist)"
else
  rm -rf "$work/cp" "$work/dist"
  timed sh -c "cp -r '$ckpt' '$work/cp' && sync '$work/cp'/*"
  cp_wall=$WALL cp_cpu=$CPU
  rm -rf "$work/cp"
  for j in 1 2; do
    rm -rf "$work/dist"
    timed "$moedist" pack "$ckpt" "$work/plan.json" --out "$work/dist" -j "$j" \
      --created 2026-01-01T00:00:00Z --expires 2036-01-01T00:00:00Z
    eval "pack${j}_wall=$WALL pack${j}_cpu=$CPU pack${j}_rss=$RSS_KB"
  done
  dist_bytes=$(du -sb "$work/dist" | cut -f1)
  printf 'checkpoint %s bytes, largest tensor %s bytes; release %s bytes\n' "$ckpt_bytes" "$largest" "$dist_bytes"
  printf '%-34s %8.2f s wall %8.2f s CPU %8.0f MB/s\n' "cp -r + sync" "$cp_wall" "$cp_cpu" "$(echo "$ckpt_bytes / $cp_wall / 1000000" | bc -l)"
  for j in 1 2; do
    eval "w=\$pack${j}_wall c=\$pack${j}_cpu r=\$pack${j}_rss"
    printf '%-34s %8.2f s wall %8.2f s CPU %8.0f MB/s, peak RSS %s MiB\n' "moedist pack -j $j" "$w" "$c" \
      "$(echo "$ckpt_bytes / $w / 1000000" | bc -l)" "$((r / 1024))"
  done
  echo "ratio pack/cp (wall): -j 1 $(ratio "$pack1_wall" "$cp_wall")x, -j 2 $(ratio "$pack2_wall" "$cp_wall")x (target <= 1.25)"
  bound_kb=$(((1073741824 + largest) / 1024))
  worst_rss=$((pack1_rss > pack2_rss ? pack1_rss : pack2_rss))
  echo "peak RSS bound 1 GiB + largest tensor = $((bound_kb / 1024)) MiB: measured $((worst_rss / 1024)) MiB," \
    "$([[ $worst_rss -le $bound_kb ]] && echo within || echo OVER) the bound"
fi

echo
echo "## 3. quantize GB/s per type (quant_bench 64 MiB, best of 3)"
"$quant" 64 3

echo
echo "## 4. package / unpack vs tar + zstd on the same bytes (the checkpoint as one node)"
ls "$ckpt" >"$work/files"
"$archive" "$ckpt" "$work/arch" 1 3 >"$work/archive.out"
mbps() { echo "$ckpt_bytes / $1 / 1000000" | bc -l; }
row() {  # label, wall s, CPU s, archive bytes
  printf '%-36s %7.2f s %6.0f MB/s wall %7.2f s %6.0f MB/CPU-s %13s bytes ratio %.3f\n' "$1" "$2" \
    "$(mbps "$2")" "$3" "$(mbps "$3")" "$4" "$(echo "$ckpt_bytes / $4" | bc -l)"
}
for level in 1 3; do
  read -r _ m_pack m_pack_cpu _ m_size < <(grep "^package-$level-auto " "$work/archive.out")
  read -r _ n_pack n_pack_cpu _ n_size < <(grep "^package-$level-never " "$work/archive.out")
  read -r _ m_unpack m_unpack_cpu _ _ < <(grep "^unpack-$level-auto " "$work/archive.out")
  timed sh -c "tar -cf - -C '$ckpt' -T '$work/files' | zstd -q -$level -T1 -o '$work/t$level.tar.zst' && sync '$work/t$level.tar.zst'"
  t_pack=$WALL t_pack_cpu=$CPU
  rm -rf "$work/tu"; mkdir -p "$work/tu"
  timed sh -c "zstd -q -d -c '$work/t$level.tar.zst' | tar -xf - -C '$work/tu' && sync '$work/tu'/*"
  t_unpack=$WALL t_unpack_cpu=$CPU
  t_size=$(stat -c %s "$work/t$level.tar.zst")
  echo "zstd -$level ($ckpt_bytes bytes in):"
  row "  package (planes auto)" "$m_pack" "$m_pack_cpu" "$m_size"
  row "  package --planes never" "$n_pack" "$n_pack_cpu" "$n_size"
  row "  tar -c | zstd -$level -T1 + sync" "$t_pack" "$t_pack_cpu" "$t_size"
  row "  unpack (checks, SHA-256, fsync)" "$m_unpack" "$m_unpack_cpu" "$m_size"
  row "  zstd -d | tar -x + sync" "$t_unpack" "$t_unpack_cpu" "$t_size"
  echo "  package/tar+zstd: time $(ratio "$m_pack" "$t_pack")x wall, $(ratio "$m_pack_cpu" "$t_pack_cpu")x CPU, size $(ratio "$m_size" "$t_size")x;" \
    "unpack/zstd+tar: $(ratio "$m_unpack" "$t_unpack")x wall, $(ratio "$m_unpack_cpu" "$t_unpack_cpu")x CPU"
  rm -rf "$work/tu" "$work/t$level.tar.zst"
done
echo
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
