#!/usr/bin/env bash
# Benchmark: `moedist profile --layers all` on a synthetic Qwen3-MoE checkpoint about 3× the
# memory limit (preset stream3g: 5 layers of 612 MiB, ~3.2 GiB of random bf16 weights), under
# `--max-rss 1G` (layer by layer), against prompt by prompt (no limit) in the same run.
# Prints wall time and measured peak RSS (/usr/bin/time's "Maximum resident set size") next to
# the limit, and checks that both modes recorded identical statistics.
# Usage: bench/profile_stream_bench.sh [BUILD_DIR] [LIMIT] [PROMPTS] [TOKENS_PER_PROMPT]
#        (defaults: build 1G 64 128). Needs ~3.5 GB free in ${TMPDIR:-/tmp}; removed afterwards.
set -euo pipefail
build=${1:-build}
limit=${2:-1G}
prompts=${3:-64}
tokens=${4:-128}
work=$(mktemp -d "${TMPDIR:-/tmp}/moedist-profile-stream-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
df -h "$work" | tail -1
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"

"$build/bench/make_synthetic_checkpoint" "$work/ckpt" --preset stream3g
ckpt_bytes=$(du -sb "$work/ckpt" | cut -f1)
# A tokenizer-less suite: pre-tokenized random ids in two domains.
python3 - "$work/suite.jsonl" "$prompts" "$tokens" <<'PY'
import json, random, sys
rng = random.Random(1)
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        ids = [rng.randrange(32768) for _ in range(int(sys.argv[3]))]
        f.write(json.dumps({"id": f"p{i}", "domain": "even" if i % 2 == 0 else "odd", "ids": ids}) + "\n")
PY

calc() { awk "BEGIN { print $1 }"; }
measure() {  # label, moedist profile args...
  local label=$1; shift
  /usr/bin/time -v -o "$work/time.$label" "$build/apps/moedist" profile "$work/ckpt" \
    --suite "$work/suite.jsonl" --layers all -o "$work/$label.json" "$@" \
    >"$work/out.$label" 2>"$work/err.$label" || { cat "$work/err.$label"; exit 1; }
  local kib wall
  kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.$label")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.$label")
  grep -E '^profile: layer' "$work/err.$label" || true
  grep -E ': peak RSS' "$work/out.$label" || true
  printf '%-18s wall %8s  peak RSS %8.1f MiB\n' "$label" "$wall" "$(calc "$kib/1024")"
  echo "$kib" >"$work/kib.$label"
}
limit_bytes=$(python3 -c "import sys; s=sys.argv[1]; u={'K':1,'M':2,'G':3,'T':4}.get(s[-1].upper(),0); print(int(float(s[:-1] if u else s) * 1024**u))" "$limit")
printf 'checkpoint %.2f GiB, limit %s (%.2f GiB): %.1fx; suite %s prompts x %s tokens\n' \
  "$(calc "$ckpt_bytes/1024^3")" "$limit" "$(calc "$limit_bytes/1024^3")" \
  "$(calc "$ckpt_bytes/$limit_bytes")" "$prompts" "$tokens"

# A limit below the layer-by-layer estimate is refused before any weight is read (exit 2).
rc=0
"$build/apps/moedist" profile "$work/ckpt" --suite "$work/suite.jsonl" --layers all \
  -o "$work/refused.json" --max-rss 512M 2>"$work/err.refused" >/dev/null || rc=$?
echo "--max-rss 512M: exit $rc: $(cat "$work/err.refused")"
[ "$rc" = 2 ] || { echo "expected exit 2"; exit 1; }

measure layer-stream --max-rss "$limit"
measure prompt-by-prompt

s=$(cat "$work/kib.layer-stream"); p=$(cat "$work/kib.prompt-by-prompt")
printf 'peak RSS: layer-stream %.1f MiB (limit %.1f MiB, %s), prompt-by-prompt %.1f MiB (%.2fx)\n' \
  "$(calc "$s/1024")" "$(calc "$limit_bytes/1024^2")" \
  "$([ $((s * 1024)) -le "$limit_bytes" ] && echo within || echo EXCEEDED)" \
  "$(calc "$p/1024")" "$(calc "$p/$s")"
# Same statistics from both orders: profile.json without "execution", and the arrays.
python3 - "$work/layer-stream.json" "$work/prompt-by-prompt.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print("execution:", a["execution"]["mode"], "estimated", a["execution"]["estimated_peak_bytes"],
      "| ", b["execution"]["mode"], "estimated", b["execution"]["estimated_peak_bytes"])
for d in (a, b):
    d.pop("execution")
assert a == b, "profile.json statistics differ between modes"
PY
cmp "$work/layer-stream.json.arrays.safetensors" "$work/prompt-by-prompt.json.arrays.safetensors"
echo "statistics identical in both modes (profile.json and arrays)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
