#!/bin/bash
# curl test of the HTTP endpoints served on the WebSocket port: /healthz,
# /readyz, /metrics (validated with `promtool check metrics`), 404 JSON;
# then SIGTERM must give exit status 0.
# usage: http_metrics_test.sh <tracedb binary>
set -u
TRACEDB=$1
TMP=$(mktemp -d)
trap 'kill $PID 2>/dev/null; rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$TRACEDB" serve --data "$TMP/data" --listen 127.0.0.1:0 --port-file "$TMP/port" 2>"$TMP/log" &
PID=$!
for _ in $(seq 400); do { [ -s "$TMP/port" ] || ! kill -0 $PID 2>/dev/null; } && break; sleep 0.05; done
[ -s "$TMP/port" ] || fail "server did not start: $(cat "$TMP/log")"
PORT=$(cat "$TMP/port")
BASE=http://127.0.0.1:$PORT

[ "$(curl -s -o "$TMP/h" -w '%{http_code}' "$BASE/healthz")" = 200 ] || fail "/healthz status"
grep -q '"status":"ok"' "$TMP/h" || fail "/healthz body: $(cat "$TMP/h")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ] || fail "/readyz status"
[ "$(curl -s -o "$TMP/nf" -w '%{http_code}' "$BASE/no/such/path")" = 404 ] || fail "unknown path is not 404"
grep -q '"code":"NotFound"' "$TMP/nf" || fail "404 body is not a JSON error: $(cat "$TMP/nf")"

CT=$(curl -s -o "$TMP/metrics" -w '%{content_type}' "$BASE/metrics")
case "$CT" in text/plain*version=0.0.4*) ;; *) fail "metrics content type: $CT" ;; esac
for m in tracedb_events_ingested_total tracedb_events_duplicate_total tracedb_ws_received_bytes_total \
         tracedb_connections_open tracedb_subscriptions_active tracedb_notifications_dropped_total \
         tracedb_request_duration_seconds_bucket tracedb_write_batch_duration_seconds_bucket \
         tracedb_rocksdb_memtable_bytes tracedb_rocksdb_pending_compaction_bytes tracedb_rocksdb_live_sst_bytes \
         tracedb_rocksdb_write_stall_seconds_total; do
  grep -q "^$m" "$TMP/metrics" || fail "metric $m missing"
done
# Values after known traffic: none but /healthz, /readyz and the 404 (this
# /metrics reply is counted when sent); a fresh store has nothing queued.
value() { awk -v m="$1" '$1 == m { print $2 }' "$TMP/metrics"; }
for want in "tracedb_events_ingested_total 0" "tracedb_events_duplicate_total 0" "tracedb_ws_received_bytes_total 0" \
            "tracedb_connections_open 0" "tracedb_connections_total 0" "tracedb_subscriptions_active 0" \
            "tracedb_notifications_dropped_total 0" "tracedb_write_errors_total 0" "tracedb_ingest_queue_depth 0" \
            "tracedb_http_requests_total 4" 'tracedb_http_responses_total{code="2xx"} 2' \
            'tracedb_http_responses_total{code="4xx"} 1' 'tracedb_http_responses_total{code="5xx"} 0' \
            "tracedb_retention_buckets_dropped_total 0"; do
  set -- $want
  [ "$(value "$1")" = "$2" ] || fail "metric $1 = '$(value "$1")', want $2"
done
promtool check metrics < "$TMP/metrics" > "$TMP/promtool" 2>&1 || fail "promtool: $(cat "$TMP/promtool")"

kill -TERM $PID
wait $PID
RC=$?
[ $RC = 0 ] || fail "exit status $RC after SIGTERM: $(cat "$TMP/log")"
echo "http/metrics: ok"
