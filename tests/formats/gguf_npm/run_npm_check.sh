#!/usr/bin/env bash
# ctest gguf.npm_parser_check: writes the sample GGUFs with moedist, then has @huggingface/gguf
# parse each one and compare it with what moedist meant to write (check_gguf.mjs).
# Usage: run_npm_check.sh SAMPLE_WRITER_EXE OUT_DIR
# Exits 77 (ctest SKIP) when node or node_modules is missing: install with
#   npm ci --prefix tests/formats/gguf_npm --ignore-scripts --no-audit --no-fund
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
writer=$1
out=$2
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed"
  exit 77
fi
if [ ! -d "$here/node_modules/@huggingface/gguf" ]; then
  echo "SKIP: $here/node_modules is absent; run: npm ci --prefix tests/formats/gguf_npm --ignore-scripts --no-audit --no-fund"
  exit 77
fi
rm -rf "$out"
"$writer" "$out"
status=0
n=0
for f in "$out"/*.gguf; do
  node "$here/check_gguf.mjs" "$f" "$f.expected.json" || status=1
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no samples were written"; exit 1; }
exit $status
