#!/usr/bin/env bash
# One GPU-machine call: smoke-tests train.py --preset e64, trains examples/model64 and probes
# whether transformers follows node directories' "../trunk/" shard names. Results land in $OUT
# (the trained directory as tar parts of 15 MiB, the logs, the probe's JSON line).
# Needs build-corpus-text/ (python3 examples/model/gather_corpus.py) carried along.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/device.txt"
python3 scripts/device/probe_relative_shards.py > "$OUT/relative_shards.json" 2> "$OUT/probe.err"
cat "$OUT/relative_shards.json"; tail -3 "$OUT/probe.err"
if ! python3 examples/model/train.py --preset e64 --smoke --out /tmp/smoke > "$OUT/smoke.log" 2>&1; then
  tail -40 "$OUT/smoke.log"; exit 1
fi
echo "smoke ok"
python3 examples/model/train.py --preset e64 --out /tmp/m64 --train-seconds "${TRAIN_SECONDS:-270}" \
  > "$OUT/train.log" 2>&1
rc=$?
tail -25 "$OUT/train.log"
(cd /tmp/m64 && tar cf - .) | split -b 15M - "$OUT/model64.tar.part-"
ls -la "$OUT"
exit $rc
