#!/usr/bin/env bash
# Benchmark: `moedist inspect` on a ~20 GB sparse synthetic Qwen3-MoE checkpoint (16 layers,
# 128 experts, hidden 2048; 6 000+ tensors in 10 shards). Prints wall time and peak RSS, and,
# as a baseline in the same run, python3 reading and JSON-parsing just the shard headers.
# Usage: bench/inspect_bench.sh [BUILD_DIR]   (default: build)
set -euo pipefail
build=${1:-build}
work=$(mktemp -d "${TMPDIR:-/tmp}/moedist-inspect-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/make_synthetic_checkpoint" "$work/ckpt" --preset bench20g --sparse
apparent=$(du -sb --apparent-size "$work/ckpt" | cut -f1)
echo "checkpoint: $(ls "$work/ckpt" | wc -l) files, $apparent bytes apparent, $(du -s --block-size=1 "$work/ckpt" | cut -f1) bytes on disk"

measure() {  # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
    cat "$work/err"; exit 1; }
  read -r secs kib <"$work/time"
  printf '%-28s %8.3f s  peak RSS %7.1f MB\n' "$label" "$secs" "$(echo "$kib/1024" | bc -l)"
  echo "$secs" >"$work/secs.$label"
}
for i in 1 2 3; do measure "moedist-inspect-$i" "$build/apps/moedist" inspect "$work/ckpt" --json; done
python3 - "$work/out" "$apparent" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["unclassified"] == [] and d["bytes"]["trunk"] + d["bytes"]["routed_experts"] == d["bytes"]["total"]
print(f"inspect saw {d['tensor_count']} tensors, {d['bytes']['total']/1e9:.2f} GB of tensor data "
      f"(files {int(sys.argv[2])/1e9:.2f} GB)")
PY
cat >"$work/headers.py" <<'PY'
import json, os, struct, sys
n = 0
for f in sorted(os.listdir(sys.argv[1])):
    if f.endswith(".safetensors"):
        with open(os.path.join(sys.argv[1], f), "rb") as fh:
            size = struct.unpack("<Q", fh.read(8))[0]
            n += len(json.loads(fh.read(size)))
print(n)
PY
for i in 1 2 3; do measure "baseline-python-headers-$i" python3 "$work/headers.py" "$work/ckpt"; done
best() { sort -n "$work"/secs."$1"-* | head -1; }
m=$(best moedist-inspect); b=$(best baseline-python-headers)
printf 'best of 3: moedist inspect %.3f s, python header parse %.3f s, ratio %.2fx\n' "$m" "$b" "$(echo "$m/$b" | bc -l)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
