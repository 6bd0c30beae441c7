#!/bin/bash
# Bulk ingest, the query API and the refusal paths over real HTTP on
# 127.0.0.1, driven by curl and the compressors' own CLIs: bodies plain,
# gzip, zstd and lz4 (frame), chunked, partial rejections, atomic mode,
# `tracedb ingest --server` / `tracedb query --server`, a SIGKILL and a
# restart that finds all acknowledged data, SIGTERM during an in-flight
# upload (answered, then exit 0), 401 / 403 / 413 / 429 / 503, and TLS
# (https with curl --cacert, wss with python3-websockets).
# usage: http_ingest_test.sh <tracedb binary>
set -u
TRACEDB=$1
TMP=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$TMP/log" ] && tail -5 "$TMP/log" >&2; exit 1; }
unset TRACEDB_CONFIG TRACEDB_API_KEY

# start FLAGS...: runs `tracedb serve` on a free port; sets PID, PORT, BASE.
start() {
  rm -f "$TMP/port"
  "$TRACEDB" serve --listen 127.0.0.1:0 --port-file "$TMP/port" "$@" 2>>"$TMP/log" &
  PID=$!
  wait_for started || fail "server did not start ($*)"
  [ -s "$TMP/port" ] || fail "server exited at start ($*)"
  PORT=$(cat "$TMP/port")
  BASE=http://127.0.0.1:$PORT
}
# started: the port file of the server PID is written (it listens), or PID exited.
started() { [ -s "$TMP/port" ] || ! kill -0 $PID 2>/dev/null; }
stop() { kill -TERM $PID; wait $PID; local rc=$?; PID=; [ $rc = 0 ] || fail "exit status $rc after SIGTERM"; }

# reflow TRACE_N EVENTS: NDJSON of a StartTrace and EVENTS RecordEvents.
reflow() {
  local t n
  t=$(printf '00000000-0000-4000-8000-%012d' "$1")
  printf '{"StartTrace":{"trace_id":"%s","flow_id":"script","version":{"major":1,"minor":0,"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"}}}\n' "$t"
  for n in $(seq "$2"); do
    printf '{"RecordEvent":{"trace_id":"%s","event":{"event_id":"%08d-0000-4000-8000-%012d","timestamp":"2025-07-10T12:00:01Z","event_type":"ActorCreated","actor_id":"a%d","data":{"port":"out","message":null,"state_diff":null,"error":null,"performance_metrics":{"execution_time_ns":0,"memory_usage_bytes":0,"cpu_usage_percent":0.0,"queue_depth":0,"throughput_msgs_per_sec":0.0},"custom_attributes":{}},"causality":{"parent_event_id":null,"root_cause_event_id":"22222222-2222-4222-8222-222222222222","dependency_chain":[],"span_id":"s"}}}}\n' \
      "$t" "$1" "$n" $((n % 4))
  done
}
tid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
# wait_for CMD...: runs CMD until it succeeds (every 50 ms); fails after 20 s.
wait_for() {
  local _
  for _ in $(seq 400); do "$@" && return 0; sleep 0.05; done
  return 1
}
# metric_is NAME VALUE: the unlabelled metric NAME of /metrics reads VALUE.
metric_is() { curl -s "$BASE/metrics" "${AUTH[@]}" | grep -qx "$1 $2"; }
# events TRACE_N: events stored for the trace, read over HTTP.
events() { curl -s "$BASE/v1/traces/$(tid "$1")" "${AUTH[@]}" | grep -o '"event_id"' | wc -l; }
# post FILE [curl args...]: POSTs FILE to /v1/ingest/reflow; prints "code body".
post() {
  local f=$1
  shift
  curl -s -o "$TMP/reply" -w '%{http_code}' --data-binary "@$f" -H 'Content-Type: application/x-ndjson' "$@"
  echo " $(cat "$TMP/reply")"
}
AUTH=()

start --data "$TMP/data"

# Plain, gzip, zstd and lz4 bodies; each also chunked.
reflow 1 300 > "$TMP/b1.ndjson"
R=$(post "$TMP/b1.ndjson" "$BASE/v1/ingest/reflow")
[ "$R" = '200 {"accepted":301,"duplicates":0,"rejected":[]}' ] || fail "plain body: $R"
[ "$(events 1)" = 300 ] || fail "plain body stored $(events 1) events"
R=$(post "$TMP/b1.ndjson" "$BASE/v1/ingest/reflow")
[ "$R" = '200 {"accepted":301,"duplicates":300,"rejected":[]}' ] || fail "redelivery: $R"
n=2
for codec in gzip zstd lz4; do
  for chunked in no yes; do
    reflow $n 500 > "$TMP/b$n.ndjson"
    case $codec in
      gzip) gzip -c "$TMP/b$n.ndjson" > "$TMP/b$n.z" ;;
      zstd) zstd -q -c "$TMP/b$n.ndjson" > "$TMP/b$n.z" ;;
      lz4) lz4 -q -c "$TMP/b$n.ndjson" > "$TMP/b$n.z" ;;
    esac
    extra=()
    [ $chunked = yes ] && extra=(-H 'Transfer-Encoding: chunked')
    R=$(post "$TMP/b$n.z" "$BASE/v1/ingest/reflow" -H "Content-Encoding: $codec" "${extra[@]}")
    [ "$R" = '200 {"accepted":501,"duplicates":0,"rejected":[]}' ] || fail "$codec body (chunked: $chunked): $R"
    [ "$(events $n)" = 500 ] || fail "$codec body stored $(events $n) events"
    n=$((n + 1))
  done
done
# Streamed from stdin (curl -T - sends chunked, with Expect: 100-continue).
reflow 20 2000 | gzip -c | curl -s -o "$TMP/reply" -w '%{http_code}' -T - -X POST -H 'Content-Encoding: gzip' \
  "$BASE/v1/ingest/reflow" > "$TMP/code"
[ "$(cat "$TMP/code")" = 200 ] || fail "stdin upload: $(cat "$TMP/code") $(cat "$TMP/reply")"
[ "$(cat "$TMP/reply")" = '{"accepted":2001,"duplicates":0,"rejected":[]}' ] || fail "stdin upload reply: $(cat "$TMP/reply")"

# Partial rejection, then atomic mode.
{ reflow 30 2 | head -2; echo '{"RecordEvent":{"trace_id":"nope"}}'; echo 'not json'; reflow 30 2 | tail -1; } > "$TMP/partial"
R=$(post "$TMP/partial" "$BASE/v1/ingest/reflow")
case "$R" in '200 {"accepted":3,"duplicates":0,"rejected":[{"line":3,"error":'*'{"line":4,"error":'*) ;;
  *) fail "partial rejection: $R" ;; esac
[ "$(events 30)" = 2 ] || fail "partial rejection stored $(events 30) events"
{ reflow 31 5; echo 'garbage'; } > "$TMP/atomic"
R=$(post "$TMP/atomic" "$BASE/v1/ingest/reflow?atomic=1")
case "$R" in '200 {"accepted":0,'*'"line":7'*'"committed":false}') ;; *) fail "atomic: $R" ;; esac
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/traces/$(tid 31)")" = 404 ] || fail "atomic request stored data"

# The query API; a bad query is a 400 with the caret.
[ "$(curl -s -o "$TMP/q" -w '%{http_code}' "$BASE/v1/traces?q=flow%20%3D%20%22script%22&limit=100")" = 200 ] \
  || fail "/v1/traces"
grep -q "$(tid 1)" "$TMP/q" || fail "/v1/traces misses trace 1"
[ "$(curl -s -o "$TMP/q" -w '%{http_code}' "$BASE/v1/traces?q=flow%20%3D%20and")" = 400 ] || fail "bad query status"
grep -q '\^' "$TMP/q" || fail "bad query has no caret: $(cat "$TMP/q")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/flows/script/versions")" = 200 ] || fail "flow versions"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/aggregate?q=%7C%20count()")" = 200 ] || fail "aggregate"

# The CLI through the server.
reflow 40 250 | zstd -q -c > "$TMP/cli.ndjson.zst"
"$TRACEDB" ingest --server "$BASE" --quiet "$TMP/cli.ndjson.zst" > "$TMP/cli_out" 2>&1 || fail "tracedb ingest --server: $(cat "$TMP/cli_out")"
grep -q '"accepted":251' "$TMP/cli_out" || fail "tracedb ingest --server output: $(cat "$TMP/cli_out")"
"$TRACEDB" query --server "$BASE" --format json "trace_id = \"$(tid 40)\" | count()" > "$TMP/cli_q" 2>&1 \
  || fail "tracedb query --server: $(cat "$TMP/cli_q")"
[ "$(cat "$TMP/cli_q")" = '{"columns":["count()"],"rows":[{"count()":1.0}]}' ] \
  || fail "tracedb query --server output: $(cat "$TMP/cli_q")"
"$TRACEDB" query --server "$BASE" 'flow = and' > /dev/null 2>"$TMP/cli_err"
rc=$?
[ $rc = 2 ] || fail "bad query through the CLI: exit status $rc, want 2: $(cat "$TMP/cli_err")"
grep -q '\^' "$TMP/cli_err" || fail "CLI bad query message: $(cat "$TMP/cli_err")"

# SIGKILL: everything acknowledged is found after a restart.
kill -9 $PID
wait $PID 2>/dev/null
PID=
start --data "$TMP/data"
for t in 1 2 3 4 5 6 7; do
  want=500
  [ $t = 1 ] && want=300
  [ "$(events $t)" = $want ] || fail "after SIGKILL and restart, trace $t has $(events $t) events"
done
[ "$(events 40)" = 250 ] || fail "after restart, CLI-ingested trace has $(events 40) events"

# SIGTERM during an upload: the request is finished and answered, then exit 0.
reflow 50 3000 > "$TMP/slow.ndjson"
curl -s -o "$TMP/slow_reply" -w '%{http_code}' --limit-rate 400K -H 'Transfer-Encoding: chunked' \
  --data-binary "@$TMP/slow.ndjson" "$BASE/v1/ingest/reflow" > "$TMP/slow_code" &
CURL=$!
wait_for metric_is tracedb_ingest_requests_active 1 || fail "the slow upload never reached the server"
kill -TERM $PID
kill -0 $CURL 2>/dev/null || fail "the upload ended before SIGTERM: nothing was in flight"
wait $CURL
[ "$(cat "$TMP/slow_code")" = 200 ] || fail "in-flight upload during SIGTERM: $(cat "$TMP/slow_code") $(cat "$TMP/slow_reply")"
[ "$(cat "$TMP/slow_reply")" = '{"accepted":3001,"duplicates":0,"rejected":[]}' ] \
  || fail "in-flight upload reply: $(cat "$TMP/slow_reply")"
wait $PID
RC=$?
PID=
[ $RC = 0 ] || fail "exit status $RC after SIGTERM with an upload in flight"
start --data "$TMP/data"
[ "$(events 50)" = 3000 ] || fail "the upload answered during shutdown is not all there: $(events 50)"
stop

# Refusals: 401 without a key, 403 for a foreign Origin, 413 over the body cap.
start --memory --set auth.api_keys=k1,k2 --set server.allowed_origins=https://ui.example.com \
  --set http.max_body_bytes=100000
code() { curl -s -o "$TMP/r" -D "$TMP/h" -w '%{http_code}' --max-time 5 "$@"; }
[ "$(code "$BASE/healthz")" = 200 ] || fail "/healthz needs no key"
[ "$(code "$BASE/v1/traces?q=")" = 401 ] || fail "no key: not 401"
grep -q '"code":"Unauthorized"' "$TMP/r" || fail "401 body: $(cat "$TMP/r")"
grep -qi '^WWW-Authenticate: Bearer' "$TMP/h" || fail "401 without WWW-Authenticate"
[ "$(code -H 'Authorization: Bearer k3' "$BASE/v1/traces?q=")" = 401 ] || fail "wrong key: not 401"
[ "$(code -H 'Authorization: Bearer k2' "$BASE/v1/traces?q=")" = 200 ] || fail "good key refused"
[ "$(code "$BASE/metrics")" = 401 ] || fail "/metrics without a key"
[ "$(code --data-binary "@$TMP/b1.ndjson" "$BASE/v1/ingest/reflow")" = 401 ] || fail "ingest without a key"
WS=(-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')
[ "$(code "${WS[@]}" "$BASE/")" = 401 ] || fail "WebSocket upgrade without a key: not 401"
[ "$(code "${WS[@]}" -H 'Origin: https://evil.example.com' "$BASE/?token=k1")" = 403 ] || fail "foreign origin: not 403"
reflow 60 400 > "$TMP/big.ndjson"
[ "$(code -H 'Authorization: Bearer k1' --data-binary "@$TMP/big.ndjson" "$BASE/v1/ingest/reflow")" = 413 ] \
  || fail "body over http.max_body_bytes: not 413"
[ "$(code -H 'Authorization: Bearer k1' -H 'Transfer-Encoding: chunked' --data-binary "@$TMP/big.ndjson" \
  "$BASE/v1/ingest/reflow")" = 413 ] || fail "chunked body over http.max_body_bytes: not 413"
stop

# 429 with Retry-After.
start --memory --set http.rate_limit_per_second=1 --set http.rate_limit_burst=2
codes=""
for _ in 1 2 3 4; do codes="$codes $(code "$BASE/v1/traces?q=")"; done
case "$codes" in *429*) ;; *) fail "no 429 in $codes" ;; esac
grep -qi '^Retry-After: [0-9]' "$TMP/h" || fail "429 without Retry-After: $(cat "$TMP/h")"
stop

# 503 beyond server.max_connections.
start --memory --set server.max_connections=1
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&3
read -r -t 5 line <&3 || fail "held connection got no reply"
[ "$(code "$BASE/healthz")" = 503 ] || fail "connection beyond max_connections: not 503"
grep -qi '^Retry-After: 1' "$TMP/h" || fail "503 without Retry-After"
exec 3>&-
healthy() { [ "$(code "$BASE/healthz")" = 200 ]; }
wait_for healthy || fail "the slot was not freed"
stop

# TLS: https and wss on the same port.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null || fail "openssl req"
start --memory --set tls.cert_file="$TMP/cert.pem" --set tls.key_file="$TMP/key.pem"
HTTPS=https://127.0.0.1:$PORT
[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TMP/cert.pem" "$HTTPS/healthz")" = 200 ] || fail "https /healthz"
R=$(curl -s -w ' %{http_code}' --cacert "$TMP/cert.pem" -H 'Content-Encoding: gzip' --data-binary "@$TMP/b2.z" \
  "$HTTPS/v1/ingest/reflow")
[ "$R" = '{"accepted":501,"duplicates":0,"rejected":[]} 200' ] || fail "https ingest: $R"
curl -s --max-time 3 "http://127.0.0.1:$PORT/healthz" > /dev/null && fail "plain http accepted on the TLS port"
/usr/bin/python3 -c 'import websockets' 2>/dev/null \
  || fail "wss needs python3-websockets for /usr/bin/python3 (bash scripts/setup.sh installs it)"
/usr/bin/python3 - "$PORT" "$TMP/cert.pem" <<'EOF' || fail "wss session"
import asyncio, ssl, sys, websockets
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    async with websockets.connect(f"wss://127.0.0.1:{sys.argv[1]}/", ssl=ctx) as ws:
        await ws.send('"Ping"')
        assert await ws.recv() == '"Pong"'
asyncio.run(main())
EOF
stop

# A missing certificate is an error naming the key.
"$TRACEDB" serve --memory --listen 127.0.0.1:0 --set tls.cert_file=/nonexistent --set tls.key_file=/nonexistent \
  2> "$TMP/err" && fail "missing certificate accepted"
grep -q "tls.cert_file" "$TMP/err" || fail "missing certificate message: $(cat "$TMP/err")"
echo "http/ingest: ok"
