#!/usr/bin/env bash
# ctest gguf.npm_node_check: packs every node GGUF case with moedist (gguf_node_samples), then has
# @huggingface/gguf parse each node file and compare it with what moedist meant to write
# (check_gguf.mjs: every key, type and value, every tensor's name, dims, type and offset) and
# with llama.cpp's loader layout for its architecture (check_llama_layout.mjs).
# Usage: run_node_check.sh SAMPLES_EXE OUT_DIR
# Exits 77 (ctest SKIP) when node or node_modules is missing: install with
#   npm ci --prefix tests/formats/gguf_npm --ignore-scripts --no-audit --no-fund
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
samples=$1
out=$2
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed"
  exit 77
fi
if [ ! -d "$here/node_modules/@huggingface/gguf" ]; then
  echo "SKIP: $here/node_modules is absent; run: npm ci --prefix tests/formats/gguf_npm --ignore-scripts --no-audit --no-fund"
  exit 77
fi
"$samples" "$out"
status=0
n=0
while read -r gguf expected; do
  node "$here/check_gguf.mjs" "$gguf" "$expected" || status=1
  node "$here/check_llama_layout.mjs" "$gguf" || status=1
  n=$((n + 1))
done < "$out/cases.txt"
[ "$n" -gt 0 ] || { echo "no node GGUFs were written"; exit 1; }
echo "$n node GGUFs checked"
exit $status
