#!/bin/bash
# `tracedb graph` and `tracedb lineage` on a local store and against a server, in every format
# (SVG through Graphviz's dot), and the graph over HTTP: GET /v1/graph and
# Jaeger's /api/dependencies, /api/services and /api/traces answered by a
# real `tracedb serve`.
# usage: graph_cli_test.sh <tracedb binary> <shared dir>
set -u
TRACEDB=$1
SHARED=$2
TMP=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset TRACEDB_CONFIG REFLOW_TRACING_HOST REFLOW_TRACING_PORT REFLOW_TRACING_STORAGE_BACKEND REFLOW_TRACING_SQLITE_PATH

# The Reflow wire samples hold DataFlow events.
grep -E '^\{"(StartTrace|RecordEvent|StoreTrace)"' "$SHARED/data/reflow-wire-samples.ndjson" > "$TMP/reflow.ndjson"
grep -q DataFlow "$TMP/reflow.ndjson" || fail "the wire samples have no DataFlow event"
"$TRACEDB" ingest --quiet --data "$TMP/db" "$TMP/reflow.ndjson" > /dev/null || fail "ingest"

"$TRACEDB" graph --data "$TMP/db" '' --format json > "$TMP/g.json" || fail "graph json"
grep -q '"edges":\[{"from":' "$TMP/g.json" || fail "no edges: $(cat "$TMP/g.json")"
grep -q '"kind":"actor"' "$TMP/g.json" || fail "no actor nodes: $(cat "$TMP/g.json")"
"$TRACEDB" graph --data "$TMP/db" '' --format dot -o "$TMP/g.dot" || fail "graph dot"
grep -q '^digraph tracedb {' "$TMP/g.dot" || fail "dot: $(cat "$TMP/g.dot")"
dot -Tplain "$TMP/g.dot" > /dev/null || fail "dot cannot read our DOT"
"$TRACEDB" graph --data "$TMP/db" '' --format svg -o "$TMP/g.svg" || fail "graph svg"
grep -q '<svg' "$TMP/g.svg" || fail "svg: $(head -c 300 "$TMP/g.svg")"
"$TRACEDB" graph --data "$TMP/db" 'flow = "nope"' > "$TMP/empty.json" || fail "empty graph"
grep -q '"traces":0,"nodes":\[\],"edges":\[\]' "$TMP/empty.json" || fail "empty: $(cat "$TMP/empty.json")"
"$TRACEDB" graph --data "$TMP/db" 'flow = and' 2> "$TMP/bad.err" && fail "a bad filter succeeded"
grep -q '\^' "$TMP/bad.err" || fail "no caret: $(cat "$TMP/bad.err")"

# Lineage of a message the samples carry (custom_attributes.message_id).
"$TRACEDB" lineage --data "$TMP/db" msg_1 > "$TMP/lin.json" || fail "lineage"
grep -q '"matched":true' "$TMP/lin.json" || fail "lineage hops: $(cat "$TMP/lin.json")"

"$TRACEDB" serve --data "$TMP/db" --listen 127.0.0.1:0 --port-file "$TMP/port" 2> "$TMP/serve.log" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
[ -s "$TMP/port" ] || fail "server did not start: $(cat "$TMP/serve.log")"
URL="http://127.0.0.1:$(cat "$TMP/port")"

"$TRACEDB" graph --server "$URL" '' --format json > "$TMP/rg.json" || fail "graph --server"
cmp -s "$TMP/g.json" "$TMP/rg.json" || fail "local and server graphs differ: $(cat "$TMP/rg.json")"
curl -sf "$URL/v1/graph?format=svg" -o "$TMP/h.svg" -w '%{content_type}' > "$TMP/ct" || fail "GET /v1/graph svg"
grep -q 'image/svg+xml' "$TMP/ct" || fail "svg content type: $(cat "$TMP/ct")"
code=$(curl -s -o "$TMP/bad.json" -w '%{http_code}' "$URL/v1/graph?format=png")
[ "$code" = 400 ] || fail "format=png answered $code"

"$TRACEDB" lineage --server "$URL" msg_1 > "$TMP/rlin.json" || fail "lineage --server"
cmp -s "$TMP/lin.json" "$TMP/rlin.json" || fail "local and server lineage differ: $(cat "$TMP/rlin.json")"

curl -sf "$URL/api/services" > "$TMP/services.json" || fail "/api/services"
grep -q '"data":\["' "$TMP/services.json" || fail "services: $(cat "$TMP/services.json")"
curl -sf "$URL/api/dependencies?endTs=4102444800000&lookback=4102444800000" > "$TMP/deps.json" || fail "/api/dependencies"
grep -q '"callCount":' "$TMP/deps.json" || fail "dependencies: $(cat "$TMP/deps.json")"
service=$(sed -E 's/.*"data":\["([^"]*)".*/\1/' "$TMP/services.json")
curl -sf "$URL/api/traces?service=$service&limit=5" > "$TMP/traces.json" || fail "/api/traces"
grep -q '"processes":{"p1":{"serviceName":' "$TMP/traces.json" || fail "traces: $(head -c 500 "$TMP/traces.json")"
code=$(curl -s -o "$TMP/err.json" -w '%{http_code}' "$URL/api/traces?service=$service&minDuration=soon")
[ "$code" = 400 ] || fail "bad minDuration answered $code"
grep -q '"errors":\[{"code":400,"msg":' "$TMP/err.json" || fail "jaeger error: $(cat "$TMP/err.json")"

kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "server exit status after SIGTERM"
SERVER_PID=
echo "graph cli: ok"
