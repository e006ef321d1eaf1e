#!/usr/bin/env bash
# ctest gguf.ggml_parser_check: writes the sample GGUFs with moedist, then loads each with ggml's
# own gguf.cpp from a prebuilt libggml-base.so (gguf_ggml_check.cpp) and compares.
# Usage: gguf_ggml_check.sh SAMPLE_WRITER_EXE CHECK_EXE OUT_DIR [LIBGGML_BASE]
# The library comes from the argument (CMake cache MOEDIST_GGML_BASE_LIB), $GGML_BASE_LIB, or the
# pinned npm package in tests/llama_npm (llama_lib.sh: skips with exit 77 without one, fails
# instead when MOEDIST_REQUIRE_LLAMA=1).
set -euo pipefail
source "$(dirname "$0")/../llama_npm/llama_lib.sh"
writer=$1
check=$2
out=$3
llama_lib lib 'libggml-base.so' "${4:-${GGML_BASE_LIB:-}}"
echo "libggml-base: $lib"
rm -rf "$out"
"$writer" "$out"
status=0
"$check" "$lib" --types || status=1
for f in "$out"/*.gguf; do
  "$check" "$lib" "$f" "$f.expected.txt" || status=1
done
exit $status
