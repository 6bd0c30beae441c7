#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: installs what is missing, builds,
# and runs the whole test suite in three passes:
#   1. release (build/, RelWithDebInfo with line tables only): every ctest
#      test (unit, golden, differential, crash, server, script and
#      fuzz-replay tests, the benchmark smoke tests);
#   2. asan (build-asan/, ASan + UBSan + LeakSanitizer at -O1 -g1, -O0 for
#      the Beast session code, the test drivers (not the query suite's), the
#      CLI and the examples: tracedb_sanitizer_O0 in CMakeLists.txt): every
#      ctest test again: all module suites, the script tests against the
#      ASan-built `tracedb` and the fuzz replays. The benchmark runner is
#      left out of this pass (its smoke test runs in the release pass): the
#      three builds must fit the 35-minute budget on 2 cores;
#   3. tsan (build-tsan/, ThreadSanitizer at -O1 -g1, -O0 as in 2.): the
#      engine, ingest pipeline, server and client suites, suppressions in
#      tests/tsan.supp.
# See docs/server.md ("Sanitizers") for what each pass covers and costs.
# Each sanitizer build compiles in the background while the previous pass's
# tests run, so both cores stay busy.
# Prints the tests that were skipped (GTEST_SKIP, ctest skip/disabled) and
# the ones that failed, then one line "N passed, N failed, N skipped"; a
# skipped test is never counted as passed. Exits non-zero when anything
# failed; a pass whose build fails or that runs no test is a failure.
# TRACEDB_SKIP_SANITIZE=1 leaves passes 2 and 3 out (listed as skipped).
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
bash scripts/setup.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
export CCACHE_BASEDIR="$PWD"

passed=0
failed=0
skipped=0
failed_list=()
skipped_list=()
timings=()

# tally PASS LOG: adds the results of a ctest log to the totals. ctest counts
# a skipped test among the passed ones ("N tests failed out of T" includes
# it); its "did not run" list names the skipped and disabled ones.
tally() {
  local pass=$1 log=$2 total bad name
  total=$(grep -oE 'tests failed out of [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$')
  bad=$(grep -oE '[0-9]+ tests failed out of' "$log" | tail -1 | grep -oE '^[0-9]+')
  if [ -z "$total" ] || [ "$total" -eq 0 ]; then
    failed=$((failed + 1))
    failed_list+=("$pass: ran no test")
    return
  fi
  local in_total=0
  while IFS= read -r line; do
    name=$(sed -E 's/^[[:space:]]*[0-9]+ - //' <<< "$line")
    skipped_list+=("$pass: $name")
    skipped=$((skipped + 1))
    case $line in *"(Skipped)") in_total=$((in_total + 1)) ;; esac
  done < <(sed -n '/^The following tests did not run:/,/^$/p' "$log" | grep -E '\((Skipped|Disabled)\)$')
  while IFS= read -r line; do
    failed_list+=("$pass: $(sed -E 's/^[[:space:]]*[0-9]+ - //' <<< "$line")")
  done < <(sed -n '/^The following tests FAILED:/,/^[^[:space:]]/p' "$log" | grep -E '^[[:space:]]+[0-9]+ - ')
  passed=$((passed + total - bad - in_total))
  failed=$((failed + bad))
}

# build NAME DIR "CMAKE ARGS" ["TARGETS"]: configures and builds DIR (only
# TARGETS when given); the output goes to DIR/build.log. Run in the
# background, so that the next pass compiles while this one's tests, which
# mostly wait on sockets and disks, run.
build() {
  local name=$1 dir=$2 cmake_args=$3 targets=${4:-} t0 rc build_targets=()
  for t in $targets; do build_targets+=(--target "$t"); done
  t0=$(date +%s)
  mkdir -p "$dir"
  echo "test: building $name in $dir (log: $dir/build.log)"
  # shellcheck disable=SC2086
  { cmake -S . -B "$dir" -G Ninja $cmake_args && cmake --build "$dir" -j "$JOBS" "${build_targets[@]}"; } \
    > "$dir/build.log" 2>&1
  rc=$?
  echo "$rc $(( $(date +%s) - t0 ))" > "$dir/build.status"
  return $rc
}

# run_tests NAME DIR "CTEST ARGS" [ENV=VALUE...]: once DIR's build (started
# with `build`) succeeded, runs ctest there with the environment assignments
# and tallies the log; a failed build is one failure.
run_tests() {
  local name=$1 dir=$2 ctest_args=$3 rc secs t0
  shift 3
  read -r rc secs < "$dir/build.status"
  if [ "$rc" != 0 ]; then
    tail -40 "$dir/build.log"
    echo "test: $name build failed (log: $dir/build.log)"
    failed=$((failed + 1))
    failed_list+=("$name: build failed (log: $dir/build.log)")
    timings+=("$name: build failed after ${secs}s")
    return
  fi
  t0=$(date +%s)
  # shellcheck disable=SC2086
  (cd "$dir" && env "$@" ctest --output-on-failure -j "$JOBS" --timeout 900 $ctest_args) 2>&1 | tee "$dir/ctest.log"
  tally "$name" "$dir/ctest.log"
  timings+=("$name: build ${secs}s, tests $(( $(date +%s) - t0 ))s")
}

# Line tables only (-g1): symbolized reports at a fraction of -g's cost.
ASAN_ARGS="-DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-g1 -DTRACEDB_SANITIZE=ON -DTRACEDB_BUILD_BENCH=OFF"
ASAN_ARGS+=" -DTRACEDB_BUILD_MICRO=OFF"
TSAN_ARGS="-DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-g1 -DTRACEDB_TSAN=ON -DTRACEDB_BUILD_BENCH=OFF"
# The engine, ingest pipeline and server suites: every thread the engine
# and the server start (I/O, read pool, writer, bulk commit helper,
# retention, subscriptions) and their tests; the C++ client's suite
# (recording threads, its I/O thread, the server's).
TSAN_TARGETS="tracedb_engine_tests tracedb_ingest_pipeline_tests tracedb_server_tests tracedb_client_tests"
sanitize=1
[ "${TRACEDB_SKIP_SANITIZE:-0}" = "1" ] && sanitize=0
start=$(date +%s)

# Line tables only (TRACEDB_LINE_TABLES_ONLY): the release pass needs no
# variable locations, and GCC's tracking of them is a fifth to a third of
# an -O2 -g compile.
build release build "-DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} -DTRACEDB_LINE_TABLES_ONLY=ON"
[ $sanitize = 1 ] && { build asan build-asan "$ASAN_ARGS" & asan_build=$!; }
run_tests release build ""
if [ $sanitize = 1 ]; then
  wait "$asan_build"
  build tsan build-tsan "$TSAN_ARGS" "$TSAN_TARGETS" &
  tsan_build=$!
  # detect_leaks: an abrupt disconnect must not leak, nor any CLI command.
  run_tests asan build-asan "" ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
  wait "$tsan_build"
  run_tests tsan build-tsan "-L ^(engine|ingest_pipeline|server|client)$" \
    "TSAN_OPTIONS=suppressions=$PWD/tests/tsan.supp:second_deadlock_stack=1:history_size=4"
else
  for p in asan tsan; do
    skipped=$((skipped + 1))
    skipped_list+=("$p: the whole pass (TRACEDB_SKIP_SANITIZE=1)")
  done
fi
timings+=("all passes: $(( $(date +%s) - start ))s")

echo
for t in "${timings[@]}"; do echo "test: $t"; done
if [ ${#skipped_list[@]} -gt 0 ]; then
  echo "test: skipped (did not run, not counted as passed):"
  printf '  %s\n' "${skipped_list[@]}"
fi
if [ ${#failed_list[@]} -gt 0 ]; then
  echo "test: FAILED:"
  printf '  %s\n' "${failed_list[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
