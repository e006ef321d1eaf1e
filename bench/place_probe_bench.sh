#!/usr/bin/env bash
# Benchmark: `moedist place DIST`, the release-only placer, on 64-token prompts: the time to open
# a release (verify the trunk's digests, map it) and the probe latency per prompt, read from the
# "seconds" of `place --stdin` answers (the placer kept open, as a front door runs it).
#   1. the example model (examples/model/checkpoint) packed as 2 nodes;
#   2. a synthetic checkpoint of Qwen3-30B-A3B widths (vocabulary 151936, hidden 2048, 32 heads,
#      128 experts of 768) with 2 layers (preset probe2l, sparse), packed as 4 nodes. The probe
#      runs the embedding, layer 0's attention and layer 0's router: a 48-layer trunk probes the
#      same way, only its files (and so the open's digests) are larger.
# Usage: bench/place_probe_bench.sh [BUILD_DIR] [REQUESTS] (defaults: build 20). Needs ~4 GB
# free in ${TMPDIR:-/tmp}; removed afterwards.
set -euo pipefail
build=${1:-build}
requests=${2:-20}
moedist="$build/apps/moedist"
work=$(mktemp -d "${TMPDIR:-/tmp}/moedist-place-probe-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(date -u +%FT%TZ)"

plan() {  # out experts top_k layers groups: contiguous groups, no overlay
  python3 - "$@" <<'PY'
import json, sys
out, experts, top_k, layers, groups = sys.argv[1], *map(int, sys.argv[2:])
size = experts // groups
layer = {"groups": [list(range(g * size, (g + 1) * size)) for g in range(groups)], "overlay": []}
json.dump({"schema_version": 1, "num_experts": experts, "top_k": top_k, "strategy": "custom",
           "layers": {str(l): layer for l in range(layers)}}, open(out, "w"))
PY
}
requests_file() {  # out vocab: $requests prompts of 64 ids
  python3 - "$1" "$2" "$requests" <<'PY'
import json, random, sys
rng = random.Random(1)
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[3])):
        f.write(json.dumps({"id": i, "ids": [rng.randrange(int(sys.argv[2])) for _ in range(64)]}) + "\n")
PY
}
measure() {  # label dist vocab
  local label=$1 dist=$2 vocab=$3
  requests_file "$work/$label.requests" "$vocab"
  local t0 t1
  t0=$(date +%s.%N)
  "$moedist" place "$dist" --ids "$(python3 -c 'print(list(range(1, 65)))')" --unsigned --json \
    >"$work/$label.once" 2>/dev/null
  t1=$(date +%s.%N)
  "$moedist" place "$dist" --stdin --unsigned <"$work/$label.requests" >"$work/$label.answers" \
    2>/dev/null
  python3 - "$work/$label.answers" "$label" "$(awk "BEGIN { print $t1 - $t0 }")" <<'PY'
import json, statistics, sys
answers = [json.loads(l) for l in open(sys.argv[1])]
assert all(a["ok"] for a in answers), answers
s = sorted(a["seconds"] for a in answers)
print(f"{sys.argv[2]}: one-shot place (open + verify + probe) {float(sys.argv[3]):.3f} s; "
      f"--stdin probe of 64 tokens over {len(s)} prompts: median {statistics.median(s) * 1000:.1f} ms, "
      f"min {s[0] * 1000:.1f} ms, max {s[-1] * 1000:.1f} ms")
PY
}

# 1. the example
plan "$work/example-plan.json" 16 2 4 2
"$moedist" pack examples/model/checkpoint "$work/example-plan.json" --out "$work/example-dist" \
  >/dev/null
echo "example trunk: $(du -sh "$work/example-dist/trunk" | cut -f1)"
measure example "$work/example-dist" 1000

# 2. Qwen3-30B-A3B widths, 2 layers
"$build/bench/make_synthetic_checkpoint" "$work/ckpt" --preset probe2l --sparse
plan "$work/q30-plan.json" 128 8 2 4
"$moedist" pack "$work/ckpt" "$work/q30-plan.json" --out "$work/q30-dist" >/dev/null
echo "qwen3-30b-a3b-widths trunk (2 layers): $(du -sh --apparent-size "$work/q30-dist/trunk" | cut -f1)"
measure qwen3-30b-a3b-2l "$work/q30-dist" 151936
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
