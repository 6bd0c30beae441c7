#!/bin/bash
# The benchmark smoke test must fail when a workload cannot run: with
# /bin/false as the tracedb binary no server starts, so
# `tracedb_bench --quick --tracedb-binary /bin/false` must exit 1, name
# ingest_bulk and ingest_ws as unavailable in its FAILED list, and never
# claim that its results were verified.
# usage: bench_unavailable_test.sh <tracedb_bench binary>
set -u
BENCH=$1
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
fail() { echo "FAIL: $*" >&2; tail -40 "$OUT" >&2; exit 1; }

"$BENCH" --quick --tracedb-binary /bin/false > "$OUT" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "exit status $rc, expected 1"
grep -q 'results verified' "$OUT" && fail "reports its results as verified"
grep -q '^FAILED: ' "$OUT" || fail "no FAILED summary"
for w in ingest_bulk ingest_ws; do
  grep -q "^  $w / tracedb: unavailable: server exited during start-up" "$OUT" \
    || fail "$w is not listed as unavailable"
done
echo "bench/unavailable: ok"
