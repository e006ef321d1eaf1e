#!/usr/bin/env bash
# Regenerates tests/quant/data/ggml_* from real ggml (see README.md). Needs network (npm) once.
set -euo pipefail
PKG_VERSION=3.22.1
here=$(cd "$(dirname "$0")" && pwd)
work=${GGMLREF_DIR:-/tmp/ggmlref}
mkdir -p "$work"
cd "$work"
[ -f package.json ] || npm init -y >/dev/null
# --ignore-scripts: only the shipped .so files are wanted, no postinstall builds.
npm install --ignore-scripts --no-audit --no-fund "@node-llama-cpp/linux-x64@${PKG_VERSION}"
lib=$(find "$work/node_modules/@node-llama-cpp/linux-x64" -name libggml-base.so | head -1)
nm -D --defined-only "$lib" | grep -q ' T quantize_row_q4_K_ref$'
cc -O1 -Wall -o "$work/gen_ggml_vectors" "$here/gen_ggml_vectors.c" -ldl -lm
"$work/gen_ggml_vectors" "$lib" "$here/../data"
echo "npm_package @node-llama-cpp/linux-x64@${PKG_VERSION}" >> "$here/../data/ggml_manifest.txt"
