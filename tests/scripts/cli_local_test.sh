#!/bin/bash
# `tracedb ingest` and `tracedb query` on a local store: plain and
# compressed NDJSON files, operonx array files, periodic progress lines when
# stderr is not a terminal, every output format, EXPLAIN, a bad query's caret,
# and the hint when the store is held by a running server.
# usage: cli_local_test.sh <tracedb binary> <shared dir>
set -u
TRACEDB=$1
SHARED=$2
TMP=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset TRACEDB_CONFIG REFLOW_TRACING_HOST REFLOW_TRACING_PORT REFLOW_TRACING_STORAGE_BACKEND REFLOW_TRACING_SQLITE_PATH

# A Reflow NDJSON file: the wire samples' ingest lines (StartTrace,
# RecordEvent, StoreTrace) plus one malformed line.
grep -E '^\{"(StartTrace|RecordEvent|StoreTrace)"' "$SHARED/data/reflow-wire-samples.ndjson" > "$TMP/reflow.ndjson"
lines=$(wc -l < "$TMP/reflow.ndjson")
[ "$lines" -gt 10 ] || fail "expected wire samples, got $lines lines"
echo 'not json' >> "$TMP/reflow.ndjson"
gzip -k -c "$TMP/reflow.ndjson" > "$TMP/reflow.ndjson.gz"

"$TRACEDB" ingest --data "$TMP/db" "$TMP/reflow.ndjson.gz" > "$TMP/out" 2> "$TMP/err" || fail "ingest gz: $(cat "$TMP/err")"
# accepted = events newly stored, duplicates = events already stored (the
# file stores one trace five times with StoreTrace: its events are new the
# first time only), lines = lines applied.
grep -q "\"lines\":$lines," "$TMP/out" || fail "lines count: $(cat "$TMP/out")"
stored=$(grep -oE '"accepted":[0-9]+' "$TMP/out" | cut -d: -f2)
dups=$(grep -oE '"duplicates":[0-9]+' "$TMP/out" | cut -d: -f2)
[ "$stored" -gt "$lines" ] && [ "$dups" -gt 0 ] || fail "accepted and duplicates (events): $(cat "$TMP/out")"
grep -q "\"line\":$((lines + 1))" "$TMP/out" || fail "rejected line number: $(cat "$TMP/out")"
grep -q "events/s" "$TMP/err" || fail "no progress line on a non-terminal: $(cat "$TMP/err")"

grep -qE "^$TMP/reflow.ndjson.gz: [0-9]+ events in [0-9.]+ s, [0-9]+ events/s" "$TMP/out" \
  || fail "no rate line at the end: $(cat "$TMP/out")"

# The parallel pipeline gives the same report whatever the batch size: a
# file of many batches (bad lines and blank lines spread through it) loaded with batches of 7 lines and with one batch, into two
# fresh stores. Rejections come in line order (the truncated line and the
# line of spaces ending in "x" of each round; the blank line is skipped).
{
  for round in 1 2 3; do
    head -n "$lines" "$TMP/reflow.ndjson"  # the good lines
    echo '{"RecordEvent": truncated'
    echo
    printf '%*s\n' 20000 x
  done
} > "$TMP/many.ndjson"
"$TRACEDB" ingest --quiet --batch-lines 7 --data "$TMP/db7" "$TMP/many.ndjson" > "$TMP/out7" || fail "ingest in batches of 7: $(cat "$TMP/out7")"
"$TRACEDB" ingest --quiet --batch-lines 100000 --data "$TMP/dbone" "$TMP/many.ndjson" > "$TMP/outone" || fail "ingest in one batch"
[ "$(head -n 1 "$TMP/out7" | sed "s|$TMP/many.ndjson: ||")" = "$(head -n 1 "$TMP/outone" | sed "s|$TMP/many.ndjson: ||")" ] \
  || fail "batch size changed the report: $(head -n 1 "$TMP/out7") vs $(head -n 1 "$TMP/outone")"
rejected=$(grep -oE '"line":[0-9]+' "$TMP/out7" | cut -d: -f2 | tr '\n' ' ')
want=""
for round in 0 1 2; do
  base=$((round * (lines + 3)))
  want="$want$((base + lines + 1)) $((base + lines + 3)) "
done
[ "$rejected" = "$want" ] || fail "rejected lines, want $want got $rejected: $(cat "$TMP/out7")"
grep -q "events/s" "$TMP/out7" || fail "no rate line with --quiet: $(cat "$TMP/out7")"

# Re-ingesting the plain file: every event is a duplicate (those of the
# StoreTrace lines too: they replace their traces with the same events).
"$TRACEDB" ingest --quiet --data "$TMP/db" "$TMP/reflow.ndjson" > "$TMP/out2" || fail "ingest plain"
records=$(grep -c '^{"RecordEvent"' "$TMP/reflow.ndjson")
grep -q "\"accepted\":0,\"duplicates\":$((stored + dups)),\"lines\":$lines," "$TMP/out2" \
  || fail "want $((stored + dups)) duplicates and nothing new: $(cat "$TMP/out2")"

# operonx: a JSON array file as JsonFileExporter writes it (zstd-compressed
# when the zstd CLI exists).
cat > "$TMP/req-7.json" <<'JSON'
[
  {"event_id": "req-7-0", "request_id": "req-7", "kind": "op_start", "op_name": "g.llm", "ctx": ["main"], "timestamp": "2026-05-10T09:00:00Z", "seq": 0, "payload": {"inputs": {}}},
  {"event_id": "req-7-1", "request_id": "req-7", "kind": "llm_usage", "op_name": "g.llm", "ctx": ["main"], "timestamp": "2026-05-10T09:00:00.500000Z", "seq": 1, "payload": {"model": "m", "prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7, "cost_usd": 0.5}},
  {"event_id": "req-7-2", "request_id": "req-7", "kind": "op_end", "op_name": "g.llm", "ctx": ["main"], "timestamp": "2026-05-10T09:00:01.000000Z", "seq": 2, "payload": {"outputs": {}, "status": "error", "duration_ms": 1000.0, "yield_count": 0}}
]
JSON
OPX="$TMP/req-7.json"
# A .zst file: the CLI decompresses by extension (zstd comes with scripts/setup.sh).
command -v zstd > /dev/null || fail "zstd is missing (Debian package zstd; scripts/setup.sh installs it)"
zstd -q "$OPX" -o "$OPX.zst" || fail "zstd"
OPX="$OPX.zst"
"$TRACEDB" ingest --quiet --format operonx --data "$TMP/db" "$OPX" > "$TMP/out3" || fail "ingest operonx"
grep -q '"accepted":3' "$TMP/out3" || fail "operonx accepted: $(cat "$TMP/out3")"

# Queries in every format. flow-1 has 3 traces: the StoreTrace one, and
# one per ingest of the StartTrace without a trace id (the server invents
# the id, so the re-ingest made a second).
"$TRACEDB" query --data "$TMP/db" 'flow = "flow-1"' --format json --count > "$TMP/q.json" || fail "query json"
grep -q '"total_count":3,' "$TMP/q.json" || fail "query json total: $(cat "$TMP/q.json")"
[ "$(grep -o '"flow":"flow-1"' "$TMP/q.json" | wc -l)" = 3 ] || fail "query json traces: $(cat "$TMP/q.json")"
"$TRACEDB" query --data "$TMP/db" 'flow = "flow-1"' --format ndjson > "$TMP/q.ndjson" || fail "query ndjson"
[ "$(grep -c '"flow":"flow-1"' "$TMP/q.ndjson")" = 3 ] || fail "ndjson rows: $(cat "$TMP/q.ndjson")"
"$TRACEDB" query --data "$TMP/db" 'op_name = "llm" and payload.status = "error"' --format json > "$TMP/q.txt" \
  || fail "query operonx"
grep -q '"request_id":"req-7"' "$TMP/q.txt" || fail "operonx request not found: $(cat "$TMP/q.txt")"
grep -q '"status":"failed"' "$TMP/q.txt" || fail "the array file did not end the request: $(cat "$TMP/q.txt")"
# Reflow traces: one per RecordEvent (each its own lazy trace), the two
# invented flow-1 ones and the two StoreTrace ones; operonx: req-7.
"$TRACEDB" query --data "$TMP/db" '| count() by (source)' --format table > "$TMP/agg.txt" || fail "aggregate"
grep -Eq '^operonx +1$' "$TMP/agg.txt" || fail "aggregate operonx row: $(cat "$TMP/agg.txt")"
grep -Eq "^reflow +$((records + 4))\$" "$TMP/agg.txt" || fail "aggregate reflow row: $(cat "$TMP/agg.txt")"
"$TRACEDB" query --data "$TMP/db" --explain 'flow = "flow-1" and actor = "actor_1"' > "$TMP/plan" || fail "explain"
grep -q 'flow index: flow = "flow-1"' "$TMP/plan" || fail "explain output: $(cat "$TMP/plan")"
grep -q 'actor index: event{actor = "actor_1"}' "$TMP/plan" || fail "explain output: $(cat "$TMP/plan")"

# A bad query exits 2 with the position and a caret.
"$TRACEDB" query --data "$TMP/db" 'flow = and' 2> "$TMP/qerr"
rc=$?
[ $rc -eq 2 ] || fail "bad query: exit status $rc, want 2: $(cat "$TMP/qerr")"
grep -q '\^' "$TMP/qerr" || fail "no caret: $(cat "$TMP/qerr")"

# A store held by a running server: a clear hint instead of a crash.
"$TRACEDB" serve --data "$TMP/db" --listen 127.0.0.1:0 --port-file "$TMP/port" 2> "$TMP/serve.log" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
[ -s "$TMP/port" ] || fail "server did not start: $(cat "$TMP/serve.log")"
"$TRACEDB" query --data "$TMP/db" 'flow = "x"' 2> "$TMP/lockerr"
rc=$?
[ $rc -eq 1 ] || fail "query of a locked store: exit status $rc, want 1: $(cat "$TMP/lockerr")"
grep -q -- "--server" "$TMP/lockerr" || fail "no --server hint: $(cat "$TMP/lockerr")"
"$TRACEDB" query --server "http://127.0.0.1:$(cat "$TMP/port")" 'flow = "flow-1"' --format json > "$TMP/rq.json" \
  || fail "remote query"
[ "$(grep -o '"flow":"flow-1"' "$TMP/rq.json" | wc -l)" = 3 ] || fail "remote query output: $(cat "$TMP/rq.json")"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "server exit status after SIGTERM"
SERVER_PID=
echo "cli local ingest/query: ok"
