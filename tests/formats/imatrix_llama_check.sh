#!/usr/bin/env bash
# ctest gguf.llama_imatrix_check: llama.cpp's own imatrix loader (common_imatrix_load, what
# llama-quantize --imatrix uses) reads an importance matrix moedist wrote (imatrix_llama_check.cpp).
# Usage: imatrix_llama_check.sh CHECK_EXE OUT_DIR [LIBLLAMA_COMMON]
# The library comes from the argument (CMake cache MOEDIST_LLAMA_COMMON_LIB), $LLAMA_COMMON_LIB,
# or the pinned npm package in tests/llama_npm (llama_lib.sh: skips with exit 77 without one,
# fails instead when MOEDIST_REQUIRE_LLAMA=1).
set -euo pipefail
source "$(dirname "$0")/../llama_npm/llama_lib.sh"
check=$1
out=$2
llama_lib lib 'libllama-common.so' "${3:-${LLAMA_COMMON_LIB:-}}"
echo "libllama-common: $lib"
rm -rf "$out"
mkdir -p "$out"
LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$check" "$lib" "$out"
