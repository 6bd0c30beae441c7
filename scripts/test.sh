#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: installs what is missing, builds,
# and runs the whole test suite with ctest. Ends with a "N passed, N failed"
# line and exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
bash scripts/build.sh || { echo "test: build failed"; echo "0 passed, 1 failed"; exit 1; }
cd build
ctest --output-on-failure -j "${JOBS:-2}" --timeout 600 2>&1 | tee ctest.log
status=${PIPESTATUS[0]}
total=$(grep -oE 'tests passed, [0-9]+ tests failed out of [0-9]+' ctest.log | grep -oE '[0-9]+$' | tail -1)
failed=$(grep -oE '[0-9]+ tests failed out of' ctest.log | grep -oE '^[0-9]+' | tail -1)
total=${total:-0}; failed=${failed:-0}
if [ "$total" -eq 0 ]; then echo "test: no tests ran"; echo "0 passed, 1 failed"; exit 1; fi
echo "$((total - failed)) passed, ${failed} failed"
exit "$status"
