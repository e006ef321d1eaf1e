#!/usr/bin/env bash
# ctest gguf.llama_imatrix_check: llama.cpp's own imatrix loader (common_imatrix_load, what
# llama-quantize --imatrix uses) reads an importance matrix moedist wrote (imatrix_llama_check.cpp).
# Usage: imatrix_llama_check.sh CHECK_EXE OUT_DIR [LIBLLAMA_COMMON]
# The library comes from the argument (CMake cache MOEDIST_LLAMA_COMMON_LIB) or
# $LLAMA_COMMON_LIB; the npm package @node-llama-cpp/linux-x64 ships one next to libggml-base.so
# (tests/quant/ggmlref/run.sh installs it into /tmp/ggmlref). Exits 77 (ctest SKIP) without one.
set -euo pipefail
check=$1
out=$2
lib=${3:-${LLAMA_COMMON_LIB:-}}
if [ -z "$lib" ] || [ ! -f "$lib" ]; then
  echo "SKIP: no libllama-common.so (set -DMOEDIST_LLAMA_COMMON_LIB=... or LLAMA_COMMON_LIB)"
  exit 77
fi
rm -rf "$out"
mkdir -p "$out"
LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$check" "$lib" "$out"
