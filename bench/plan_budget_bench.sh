#!/usr/bin/env bash
# Budget planner (`moedist plan --nodes N --node-bytes B`): what it chooses and what it costs.
#   1. examples/model with 4 nodes at the budgets of docs/commands/plan.md "Measured": one the
#      whole bf16 model fits, and trunk + 25 %, 12.5 %, 6.25 % of the routed experts' bf16
#      bytes. Prints each budget's candidate table (plan's own output) and the planner's cost:
#      wall time, and seconds per measured candidate (pack to scratch + scoring every node).
#   2. A synthetic checkpoint of real widths (make_synthetic_checkpoint --preset stream3g:
#      Qwen3-30B-A3B attention and expert widths, 64 experts, 5 layers, ~3.4 GB of bf16) with a
#      pre-tokenized random suite, 4 nodes at trunk + 12.5 %: seconds per measured candidate at
#      real tensor sizes, with the suite cut (--measure-prompts, --measure-tokens) as a large
#      model needs. Random weights: its Δ figures mean nothing, its timings do.
# Usage: bench/plan_budget_bench.sh [BUILD_DIR] [--skip-synthetic]
set -euo pipefail
build=${1:-build}
moedist="$build/apps/moedist"
synth="$build/bench/make_synthetic_checkpoint"
[[ -x "$moedist" ]] || { echo "build $moedist first"; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/moedist-plan-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
here=$(cd "$(dirname "$0")/.." && pwd)
echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs"
echo "== date: $(date -u +%Y-%m-%dT%H:%M:%SZ); load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Runs plan in budget mode; prints its table and the cost figures from plan.json.
plan() {  # label, profile, plan args...
  local label=$1 profile=$2; shift 2
  local start end
  start=$(date +%s.%N)
  "$moedist" plan "$profile" -o "$work/$label.json" "$@" 2>"$work/$label.err" | grep -v '^wrote' ||
    { cat "$work/$label.err"; exit 1; }
  end=$(date +%s.%N)
  python3 - "$work/$label.json" "$start" "$end" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["budget"]
measured = [c for c in j["candidates"] if c["measured"]]
per = sum(c["measured"]["seconds"] for c in measured) / len(measured)
print(f"cost: {float(sys.argv[3]) - float(sys.argv[2]):.1f} s wall, {len(measured)} measured, "
      f"{per:.1f} s per measured candidate, {j['configurations']} configurations sized")
PY
}

echo
echo "## 1. examples/model, 4 nodes"
ex="$here/examples"
"$moedist" profile "$ex/model/checkpoint" --suite "$ex/calibration/calibration.jsonl" \
  --layers all --max-tokens-per-prompt 128 -o "$work/profile.json" >/dev/null 2>&1
read -r trunk experts < <(python3 - "$work/profile.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["model"]
print(m["trunk_bytes"], sum(sum(v) for v in m["expert_bytes"].values()))
PY
)
for label in whole 25 12.5 6.25; do
  if [[ $label == whole ]]; then
    bytes=$(( (trunk + experts) * 11 / 10 ))
  else
    bytes=$(python3 -c "print(int($trunk + $experts * $label / 100))")
  fi
  echo
  echo "### budget $label: $bytes bytes per node (trunk $trunk, experts $experts bytes in bf16)"
  plan "ex-$label" "$work/profile.json" --nodes 4 --node-bytes "$bytes"
done

[[ "${2:-}" == --skip-synthetic ]] && exit 0
[[ -x "$synth" ]] || { echo "build $synth for part 2"; exit 2; }
echo
echo "## 2. synthetic stream3g (real widths), 4 nodes, trunk + 12.5 %"
"$synth" "$work/ckpt" --preset stream3g
python3 - "$work/suite.jsonl" <<'PY'
import json, random, sys
rng = random.Random(1)
with open(sys.argv[1], "w") as f:
    for i in range(16):
        ids = [rng.randrange(32768) for _ in range(64)]
        f.write(json.dumps({"id": f"p{i}", "domain": f"d{i % 4}", "ids": ids}) + "\n")
PY
/usr/bin/time -f "profile: %e s wall, %M KiB peak RSS" "$moedist" profile "$work/ckpt" \
  --suite "$work/suite.jsonl" --layers all -o "$work/sprofile.json" >/dev/null 2>"$work/perr" ||
  { cat "$work/perr"; exit 1; }
tail -1 "$work/perr"
read -r strunk sexperts < <(python3 - "$work/sprofile.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["model"]
print(m["trunk_bytes"], sum(sum(v) for v in m["expert_bytes"].values()))
PY
)
sbytes=$(( strunk + sexperts / 8 ))
echo "budget: $sbytes bytes per node (trunk $strunk, experts $sexperts bytes in bf16)"
plan synth "$work/sprofile.json" --nodes 4 --node-bytes "$sbytes" --checkpoint "$work/ckpt" \
  --suite "$work/suite.jsonl" --measure 2 --measure-prompts 8 --measure-tokens 32 -j 2
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
