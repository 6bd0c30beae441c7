#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: installs what is missing, builds,
# and runs the whole test suite:
#   1. the release build (build/): every ctest test (unit, golden, differential,
#      crash, server, script and fuzz-replay tests, the benchmark smoke test);
#   2. the sanitizer build (build-asan/, ASan + UBSan at -O1): the common,
#      schema, engine and server suites again (crash test and abrupt
#      disconnect tests included), where memory errors, leaks and undefined
#      behaviour would show; see docs/server.md ("Sanitizers"). Cold on 2
#      cores this pass takes about 10 minutes (server/net.cc alone compiles
#      for about 6 of them).
# Ends with one "N passed, N failed" line; exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
bash scripts/setup.sh || exit 1

passed=0
failed=0
# Adds the counts of a ctest log to the totals; a run that executed nothing
# counts as a failure.
tally() {
  local log=$1 total bad
  total=$(grep -oE 'tests failed out of [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  bad=$(grep -oE '[0-9]+ tests failed out of' "$log" | grep -oE '^[0-9]+' | tail -1)
  total=${total:-0}
  bad=${bad:-0}
  if [ "$total" -eq 0 ]; then
    echo "test: $log ran no test"
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + total - bad))
  failed=$((failed + bad))
}

start=$(date +%s)
if bash scripts/build.sh; then
  (cd build && ctest --output-on-failure -j "$JOBS" --timeout 900) 2>&1 | tee build/ctest.log
  tally build/ctest.log
else
  echo "test: release build failed"
  failed=$((failed + 1))
fi
echo "test: release build and suite took $(( $(date +%s) - start ))s"

if [ "${TRACEDB_SKIP_SANITIZE:-0}" != "1" ]; then
  start=$(date +%s)
  modules="common schema engine server"
  targets=""
  for m in $modules; do targets="$targets --target tracedb_${m}_tests"; done
  export CCACHE_BASEDIR="$PWD"
  # Line tables only (-g1): symbolized reports at a fraction of -g's build cost.
  if cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-g1 -DTRACEDB_SANITIZE=ON \
       -DTRACEDB_BUILD_BENCH=OFF >/dev/null && cmake --build build-asan -j "$JOBS" $targets; then
    # detect_leaks: an abrupt disconnect must not leak.
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
       ctest --output-on-failure -j "$JOBS" --timeout 1800 -L "^($(echo $modules | tr ' ' '|'))\$") 2>&1 | tee build-asan/ctest.log
    tally build-asan/ctest.log
  else
    echo "test: sanitizer build failed"
    failed=$((failed + 1))
  fi
  echo "test: sanitizer build and suites took $(( $(date +%s) - start ))s"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
