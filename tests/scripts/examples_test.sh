#!/bin/bash
# Smoke tests of the example clients (examples/) and `tracedb tail` against
# a real `tracedb serve --memory`: each runs to completion with exit 0 and
# prints what it promises.
# usage: examples_test.sh <tracedb binary> <examples dir>
set -u
TRACEDB=$1
EXAMPLES=$2
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset TRACEDB_CONFIG

"$TRACEDB" serve --memory --listen 127.0.0.1:0 --port-file "$TMP/port" > "$TMP/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 200); do [ -s "$TMP/port" ] && break; sleep 0.05; done
PORT=$(cat "$TMP/port")
URL="ws://127.0.0.1:$PORT"

# A subscriber started first sees the examples' events.
"$EXAMPLES/monitoring_client" --url "$URL" --actor-ids processor --event-types MessageReceived --count 5 \
  --duration 30 > "$TMP/monitor.out" 2> "$TMP/monitor.err" &
MONITOR=$!; PIDS+=($MONITOR)
"$TRACEDB" tail --server "$URL" --actor generator --color always > "$TMP/tail.out" 2> "$TMP/tail.err" &
TAIL=$!; PIDS+=($TAIL)
"$TRACEDB" tail --server "http://127.0.0.1:$PORT" --json --type ActorFailed > "$TMP/tailjson.out" 2>&1 &
TAILJ=$!; PIDS+=($TAILJ)
for _ in $(seq 1 100); do grep -q subscribed "$TMP/monitor.err" && break; sleep 0.05; done
sleep 0.5  # the tails subscribe too

"$EXAMPLES/simple_client" --url "$URL" --messages 5 > "$TMP/simple.out" || fail "simple_client: $(cat "$TMP/simple.out")"
grep -q '"messages":5,"acked":24,"stored_events":22,"completed":true' "$TMP/simple.out" \
  || fail "simple_client output: $(cat "$TMP/simple.out")"
TRACE=$(sed -n 's/.*"trace_id":"\([^"]*\)".*/\1/p' "$TMP/simple.out")

wait "$MONITOR" || fail "monitoring_client exited non-zero: $(cat "$TMP/monitor.err")"
[ "$(grep -c '"EventNotification"' "$TMP/monitor.out")" = 5 ] || fail "monitoring_client: $(cat "$TMP/monitor.out")"
grep -q '"MessageReceived"' "$TMP/monitor.out" || fail "monitoring_client event type"
grep -q '"actor_id":"generator"' "$TMP/monitor.out" && fail "monitoring_client: actor filter ignored"

"$EXAMPLES/complex_workflow" --url "$URL" --items 10 --fail-every 3 --retries 1 > "$TMP/complex.out" \
  || fail "complex_workflow: $(cat "$TMP/complex.out")"
grep -q '"items":10,.*"all_acked":true' "$TMP/complex.out" || fail "complex_workflow: $(cat "$TMP/complex.out")"
grep -q '"dead_lettered":[1-9]' "$TMP/complex.out" || fail "complex_workflow: no dead letters"

"$EXAMPLES/performance_client" --url "$URL" --events 3000 --connections 2 --flow perf-smoke > "$TMP/perf.out" \
  || fail "performance_client: $(cat "$TMP/perf.out")"
grep -Eq '^\{"sent":3000,"acked":3000,"retried":[0-9]+,"dropped":0,"events_per_s":[0-9]+,"ack_p50_ms":[0-9.]+,"ack_p99_ms":[0-9.]+\}$' \
  "$TMP/perf.out" || fail "performance_client line: $(cat "$TMP/perf.out")"

"$EXAMPLES/query_client" --url "$URL" --flow perf-smoke --limit 2 > "$TMP/q1.out" || fail "query_client TraceQuery"
grep -q '"QueryResults":{"traces":\[{' "$TMP/q1.out" || fail "query_client TraceQuery: $(head -c 300 "$TMP/q1.out")"
grep -q '"total_count":4}' "$TMP/q1.out" || fail "query_client total_count: $(tail -c 100 "$TMP/q1.out")"
"$EXAMPLES/query_client" --url "$URL" --trace "$TRACE" > "$TMP/q2.out" || fail "query_client GetTrace"
grep -q "\"trace_id\":\"$TRACE\"" "$TMP/q2.out" || fail "query_client GetTrace: $(head -c 300 "$TMP/q2.out")"
"$EXAMPLES/query_client" --url "$URL" --filter 'flow = "complex-workflow" | count()' > "$TMP/q3.out" \
  || fail "query_client --filter: $(cat "$TMP/q3.out")"
grep -q '"count()":1\.0' "$TMP/q3.out" || fail "query_client --filter: $(cat "$TMP/q3.out")"
"$EXAMPLES/query_client" --url "$URL" --filter 'flow = = x' > "$TMP/q4.out" && fail "bad filter accepted"
grep -q 'InvalidArgument' "$TMP/q4.out" || fail "bad filter reply: $(cat "$TMP/q4.out")"
"$EXAMPLES/monitoring_client" --url "$URL" --metrics > "$TMP/metrics.out" || fail "monitoring_client --metrics"
grep -q '"Pong"' "$TMP/metrics.out" && grep -q '"Metrics"' "$TMP/metrics.out" || fail "metrics: $(cat "$TMP/metrics.out")"

# tail: one coloured line per generator event; --json the failures of complex_workflow.
sleep 0.5
kill -INT "$TAIL"; wait "$TAIL"; RC=$?
[ "$RC" = 0 ] || fail "tracedb tail did not stop cleanly on SIGINT (exit $RC): $(cat "$TMP/tail.err")"
[ "$(grep -c 'generator' "$TMP/tail.out")" = 11 ] || fail "tail lines: $(cat "$TMP/tail.out")"
grep -q $'\033\\[33m.*DataFlow.*generator:out -> processor:in' "$TMP/tail.out" || fail "tail DataFlow line: $(cat -v "$TMP/tail.out")"
grep -q $'\033\\[36m.*ActorCreated.*generator' "$TMP/tail.out" || fail "tail colour: $(cat -v "$TMP/tail.out")"
kill -INT "$TAILJ"; wait "$TAILJ" || fail "tail --json exit"
grep -q '^{"EventNotification":.*"event_type":"ActorFailed"' "$TMP/tailjson.out" || fail "tail --json: $(cat "$TMP/tailjson.out")"
grep -v '"ActorFailed"' "$TMP/tailjson.out" | grep -q EventNotification && fail "tail --type ignored"
"$TRACEDB" tail --type DataFlow 2>/dev/null && fail "tail --type DataFlow accepted"
echo "examples: ok"
