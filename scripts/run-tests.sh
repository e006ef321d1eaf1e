#!/usr/bin/env bash
# Every test: installs dependencies, builds and runs the test suite (ctest), then the same suite
# under AddressSanitizer + UndefinedBehaviorSanitizer, then each libFuzzer target for a short
# fixed time. Set MOEDIST_QUICK=1 to run only the first build's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

# From the npm registry, at the versions package-lock.json pins: @huggingface/gguf, the
# independent GGUF parser of gguf.npm_parser_check / gguf.npm_node_check, and stock llama.cpp's
# prebuilt libllama / libggml (@node-llama-cpp/linux-x64) for gguf.llama_node_check,
# gguf.ggml_parser_check and gguf.llama_imatrix_check (docs/testing.md). Without the registry
# these checks skip, unless MOEDIST_REQUIRE_LLAMA=1 (.ci/run) makes the llama.cpp ones fail.
if ! command -v npm >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null 2>&1 ||
    echo "note: could not install nodejs/npm"
fi
if command -v npm >/dev/null; then
  npm ci --prefix tests/formats/gguf_npm --ignore-scripts --no-audit --no-fund >/dev/null 2>&1 ||
    echo "note: npm ci failed; the GGUF npm parser check will be skipped"
  # --ignore-scripts: only the shipped shared libraries are used, nothing is built.
  npm ci --prefix tests/llama_npm --ignore-scripts --no-audit --no-fund >/dev/null 2>&1 ||
    echo "note: npm ci failed; the llama.cpp checks will be skipped (or fail under MOEDIST_REQUIRE_LLAMA=1)"
fi

echo "== build (RelWithDebInfo) and test"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --parallel "$jobs"
ctest --test-dir build --output-on-failure --parallel "$jobs"

[ "${MOEDIST_QUICK:-0}" = 1 ] && exit 0

echo "== build with ASan + UBSan and test"
# Optimised (-O2 -g): the example-model and release-build tests run whole forward passes, which
# at -O0 under ASan take many minutes each; the sanitizers check the same code either way.
# With clang where there is one (install-deps.sh installs it for the fuzz targets): it builds
# this instrumented code about twice as fast as gcc 12 (pipeline/pack_release.cpp: 24 s against
# 54 s on this project's machine), which keeps CI inside its 90 minutes.
asan_compiler=()
if command -v clang++ >/dev/null && command -v clang >/dev/null; then
  asan_compiler=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang)
fi
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOEDIST_SANITIZE=ON \
  "${asan_compiler[@]}" >/dev/null
cmake --build build-asan --parallel "$jobs"
# Not here: the llama.cpp checks (they test what stock, uninstrumented llama.cpp makes of files
# the first pass already wrote and checked; gguf.npm_node_check runs the same packing under
# ASan), the install checks and the any-clone checks (they test where files go and which files
# tests read; the test bodies they run are in this suite already), and the quantized example
# model over the whole eval suite (two minutes here, several under ASan; the quantized kernels
# and node loading it uses run under ASan in matmul_quant, quantized_weights and pack_quant
# tests on small tensors), and the two schema agreement checks (python-jsonschema against
# moedist's compiled validator over many sample files: three minutes under ASan; the validator
# itself runs under ASan in manifest_tests' json_schema_check_test), so CI stays in its 90 minutes.
LSAN_OPTIONS=suppressions="$PWD/scripts/lsan.supp" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure --parallel "$jobs" \
  -E '^(gguf\.(llama_node|ggml_parser|llama_imatrix)_check|install\..*|tests\.(repo_copy|missing_fixtures)|schema\.(distribution|validation_output)|PackQuantRuntime\.ExampleModelOnEvalSuite)$'

if [ -x tests/fuzz/run_fuzzers.sh ]; then
  # 16 targets, one per core at a time: 10 s each keeps the run near a minute and a half on two
  # cores; longer runs are offline (docs/fuzzing.md).
  echo "== fuzz targets (${MOEDIST_FUZZ_SECONDS:-10} s each)"
  tests/fuzz/run_fuzzers.sh "${MOEDIST_FUZZ_SECONDS:-10}"
fi
