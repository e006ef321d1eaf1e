#!/usr/bin/env bash
# ctest gguf.ggml_parser_check: writes the sample GGUFs with moedist, then loads each with ggml's
# own gguf.cpp from a prebuilt libggml-base.so (gguf_ggml_check.cpp) and compares.
# Usage: gguf_ggml_check.sh SAMPLE_WRITER_EXE CHECK_EXE OUT_DIR [LIBGGML_BASE]
# The library comes from the argument (CMake cache MOEDIST_GGML_BASE_LIB) or $GGML_BASE_LIB; the
# npm package @node-llama-cpp/linux-x64 ships one (tests/quant/ggmlref/run.sh installs it into
# /tmp/ggmlref). Exits 77 (ctest SKIP) when none is given.
set -euo pipefail
writer=$1
check=$2
out=$3
lib=${4:-${GGML_BASE_LIB:-}}
if [ -z "$lib" ] || [ ! -f "$lib" ]; then
  echo "SKIP: no libggml-base.so (set -DMOEDIST_GGML_BASE_LIB=... or GGML_BASE_LIB)"
  exit 77
fi
rm -rf "$out"
"$writer" "$out"
status=0
"$check" "$lib" --types || status=1
for f in "$out"/*.gguf; do
  "$check" "$lib" "$f" "$f.expected.txt" || status=1
done
exit $status
