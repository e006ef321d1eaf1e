# Sourced by the llama.cpp checks (gguf.ggml_parser_check, gguf.llama_imatrix_check,
# gguf.llama_node_check): finds a prebuilt llama.cpp library.
#   llama_lib VAR PATTERN GIVEN
# sets VAR to GIVEN (a CMake cache path or environment variable) when it names a file, else to
# the library PATTERN matches in the pinned npm package (package.json here;
# `npm ci --prefix tests/llama_npm --ignore-scripts` installs it, scripts/run-tests.sh does so).
# With neither, the check is skipped (exit 77, ctest SKIP), unless MOEDIST_REQUIRE_LLAMA=1
# (.ci/run sets it): then a missing library fails the check, so CI cannot pass without them.
llama_npm_bins="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"

llama_lib() {
  local var=$1 pattern=$2 given=$3 found=""
  if [ -n "$given" ]; then
    found=$given
  else
    found=$(compgen -G "$llama_npm_bins/$pattern" | head -1 || true)
  fi
  if [ -n "$found" ] && [ -r "$found" ]; then
    printf -v "$var" '%s' "$found"
    return 0
  fi
  local what=${given:-$llama_npm_bins/$pattern}
  if [ "${MOEDIST_REQUIRE_LLAMA:-0}" = 1 ]; then
    echo "FAIL: no llama.cpp library at $what, and MOEDIST_REQUIRE_LLAMA=1;" \
      "run: npm ci --prefix tests/llama_npm --ignore-scripts --no-audit --no-fund"
    exit 1
  fi
  echo "SKIP: no llama.cpp library at $what;" \
    "run: npm ci --prefix tests/llama_npm --ignore-scripts --no-audit --no-fund"
  exit 77
}
