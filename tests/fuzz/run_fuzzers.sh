#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each for SECONDS seconds
# (default 60): first over regressions/<target>/ (past crashes, each must now run clean), then
# fuzzing from the seeds in corpus/<target>/ with dicts/<target>.dict. Fails on any crash,
# sanitizer report, leak, timeout or out-of-memory; the input that caused it is left in
# build-fuzz/fuzz-work/<target>/artifacts/. Prints one summary line per target with exec/s.
# Targets run MOEDIST_FUZZ_PARALLEL at a time (each is one process on one core), so the wall
# time is about SECONDS × targets / parallel; CI's budget depends on that (docs/fuzzing.md).
#   MOEDIST_FUZZ_BUILD     build directory (default <repo>/build-fuzz)
#   MOEDIST_FUZZ_CXX       clang++ to use (default clang++)
#   MOEDIST_FUZZ_JOBS      build parallelism (default nproc)
#   MOEDIST_FUZZ_PARALLEL  targets fuzzed at once (default nproc)
#   MOEDIST_FUZZ_TARGETS   space-separated subset to build and run (default all)
set -euo pipefail
seconds=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${MOEDIST_FUZZ_BUILD:-$root/build-fuzz}
all_targets=(safetensors_header_fuzz model_config_fuzz checkpoint_index_fuzz gguf_fuzz
  distribution_fuzz signature_fuzz archive_index_fuzz node_archive_fuzz last_accepted_fuzz
  verify_fuzz tokenizer_fuzz calibration_suite_fuzz plan_fuzz profile_fuzz release_spec_fuzz
  recipe_fuzz)
read -r -a targets <<<"${MOEDIST_FUZZ_TARGETS:-${all_targets[*]}}"
parallel=${MOEDIST_FUZZ_PARALLEL:-$(nproc)}

mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="${MOEDIST_FUZZ_CXX:-clang++}" -DMOEDIST_FUZZ=ON -DMOEDIST_TESTS=OFF \
  >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" --target "${targets[@]}" --parallel "${MOEDIST_FUZZ_JOBS:-$(nproc)}"

# Scratch files of the path-only parsers (fuzz_support.h) on tmpfs where there is one: UnpackNode
# fsyncs every file it publishes (node_archive_fuzz: 21 fsyncs per input, 60 ms on a disk).
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Runs one target; writes its summary line to $work/summary and exits non-zero on failure.
run_target() {
  local t=$1 exe="$build/tests/fuzz/$1" work="$build/fuzz-work/$1"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  local regressions=("$here/regressions/$t"/*)
  if [ -e "${regressions[0]}" ]; then
    if ! "$exe" -rss_limit_mb=2048 "${regressions[@]}" >"$work/regressions.log" 2>&1; then
      {
        echo "FAIL $t: a regression input crashes again (see $work/regressions.log)"
        tail -30 "$work/regressions.log"
      } >"$work/report"
      printf '%-26s FAIL (regression)\n' "$t" >"$work/summary"
      return 1
    fi
  fi
  # New inputs go to the first directory (the scratch corpus); checked-in seeds stay as they are.
  local rc=0
  "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -print_final_stats=1 -dict="$here/dicts/$t.dict" -artifact_prefix="$work/artifacts/" \
    "$work/corpus" "$here/corpus/$t" >"$work/fuzz.log" 2>&1 || rc=$?
  local execs rate cov
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work/fuzz.log" | tail -1 || true)
  if [ "$rc" -ne 0 ]; then
    {
      echo "FAIL $t (exit $rc): artifacts in $work/artifacts/"
      grep -m5 -E 'ERROR|runtime error|SUMMARY|Test unit written|invariant' "$work/fuzz.log" ||
        tail -30 "$work/fuzz.log"
    } >"$work/report"
  fi
  printf '%-26s %s  %10s runs  %8s exec/s  %s\n' "$t" "$([ "$rc" -eq 0 ] && echo ok || echo FAIL)" \
    "${execs:-?}" "${rate:-?}" "$cov" >"$work/summary"
  return "$rc"
}

running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait || true

failed=0
for t in "${targets[@]}"; do
  work="$build/fuzz-work/$t"
  [ -f "$work/report" ] && cat "$work/report"
  if [ -f "$work/summary" ]; then
    cat "$work/summary"
    grep -q ' ok ' "$work/summary" || failed=1
  else
    echo "FAIL $t: no summary (see $work/)"
    failed=1
  fi
done
exit "$failed"
