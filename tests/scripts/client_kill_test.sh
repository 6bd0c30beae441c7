#!/bin/bash
# The C++ client's delivery guarantee where users meet it: performance_client
# records 100,000 events with a spool while the real `tracedb serve` is
# SIGKILLed twice and restarted on the same data directory and port. The
# client must end with every event acknowledged (exit 0), and the store must
# hold every event exactly once (resends after the kills are deduplicated).
# Then: a client started while the server is down delivers once it is up.
# usage: client_kill_test.sh <tracedb binary> <examples dir>
set -u
TRACEDB=$1
EXAMPLES=$2
TMP=$(mktemp -d)
SERVER=
CLIENT=
cleanup() {
  [ -n "$CLIENT" ] && kill -9 "$CLIENT" 2>/dev/null
  [ -n "$SERVER" ] && kill -9 "$SERVER" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$TMP/server.log" ] && tail -5 "$TMP/server.log" >&2; exit 1; }
unset TRACEDB_CONFIG

start_server() {  # $1: listen address
  rm -f "$TMP/port"
  "$TRACEDB" serve --data "$TMP/data" --listen "$1" --port-file "$TMP/port" >> "$TMP/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 200); do [ -s "$TMP/port" ] && return 0; sleep 0.05; done
  fail "server did not start on $1"
}
stored_events() {  # events of flow $1 in the (stopped) store, summed over actors
  "$TRACEDB" query --data "$TMP/data" --format ndjson "flow = \"$1\" | count() by (actor)" \
    | sed -n 's/.*"count()":\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}'
}
stored_traces() {
  "$TRACEDB" query --data "$TMP/data" --format ndjson "flow = \"$1\" | count()" \
    | sed -n 's/.*"count()":\([0-9]*\).*/\1/p'
}

start_server 127.0.0.1:0
PORT=$(cat "$TMP/port")
"$EXAMPLES/performance_client" --url "ws://127.0.0.1:$PORT" --events 100000 --spool "$TMP/spool" \
  --flow killtest --timeout 150 > "$TMP/client.out" 2> "$TMP/client.err" &
CLIENT=$!
for round in 1 2; do
  sleep 1.$((RANDOM % 10))
  kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null
  sleep 0.3
  start_server "127.0.0.1:$PORT"
done
wait "$CLIENT"; RC=$?; CLIENT=
cat "$TMP/client.out"
[ "$RC" = 0 ] || fail "performance_client exited $RC: $(cat "$TMP/client.out" "$TMP/client.err")"
grep -q '"sent":100000,"acked":100000,' "$TMP/client.out" || fail "final line: $(cat "$TMP/client.out")"
grep -q '"dropped":0,' "$TMP/client.out" || fail "dropped events: $(cat "$TMP/client.out")"
kill -TERM "$SERVER"; wait "$SERVER"; SERVER=
N=$(stored_events killtest)
[ "$N" = 100000 ] || fail "stored $N events, expected exactly 100000"
T=$(stored_traces killtest)
[ "$T" = 100 ] || fail "stored $T traces, expected 100"

# The server is down when the client starts; it comes up 1.5 s later.
"$EXAMPLES/performance_client" --url "ws://127.0.0.1:$PORT" --events 5000 --flow latestart --timeout 60 \
  > "$TMP/late.out" 2> "$TMP/late.err" &
CLIENT=$!
sleep 1.5
start_server "127.0.0.1:$PORT"
wait "$CLIENT"; RC=$?; CLIENT=
[ "$RC" = 0 ] || fail "late-server client exited $RC: $(cat "$TMP/late.out" "$TMP/late.err")"
kill -TERM "$SERVER"; wait "$SERVER"; SERVER=
N=$(stored_events latestart)
[ "$N" = 5000 ] || fail "late start: stored $N events, expected 5000"
echo "client_kill: ok"
