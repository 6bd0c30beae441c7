#!/bin/bash
# The tracedb CLI contract: --help explains every option, `config` prints
# each value's origin, bad configuration exits non-zero naming the key,
# precedence file < env < flags.
# usage: cli_test.sh <tracedb binary> <source dir>
set -u
TRACEDB=$1
SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset TRACEDB_CONFIG REFLOW_TRACING_HOST REFLOW_TRACING_PORT REFLOW_TRACING_STORAGE_BACKEND REFLOW_TRACING_SQLITE_PATH

"$TRACEDB" --help > "$TMP/help" || fail "tracedb --help"
for c in serve config; do grep -q "$c" "$TMP/help" || fail "--help does not list $c"; done
"$TRACEDB" serve --help > "$TMP/shelp" || fail "serve --help"
for o in --listen --data --memory --config --set --port-file; do
  grep -q -- "$o" "$TMP/shelp" || fail "serve --help does not explain $o"
done

"$TRACEDB" config > "$TMP/cfg" || fail "tracedb config"
grep -q 'port = 8080  # default' "$TMP/cfg" || fail "default port: $(cat "$TMP/cfg")"
grep -q 'host = "127.0.0.1"  # default' "$TMP/cfg" || fail "default host"
grep -q 'data_dir = "./data"  # default' "$TMP/cfg" || fail "default data dir"

printf '[server]\nport = 9001\nhost = "0.0.0.0"\n' > "$TMP/t.toml"
REFLOW_TRACING_PORT=9002 "$TRACEDB" config --config "$TMP/t.toml" > "$TMP/cfg" || fail "config with file"
grep -q 'port = 9002  # env REFLOW_TRACING_PORT' "$TMP/cfg" || fail "env over file: $(grep port "$TMP/cfg")"
grep -q "host = \"0.0.0.0\"  # file $TMP/t.toml" "$TMP/cfg" || fail "file origin"
TRACEDB_SERVER_PORT=9003 REFLOW_TRACING_PORT=9002 "$TRACEDB" config --config "$TMP/t.toml" --listen 127.0.0.1:9004 \
  > "$TMP/cfg" || fail "config with flags"
grep -q 'port = 9004  # flag --listen' "$TMP/cfg" || fail "flag over env"
REFLOW_TRACING_STORAGE_BACKEND=memory "$TRACEDB" config | grep -q 'backend = "memory"  # env REFLOW_TRACING_STORAGE_BACKEND' \
  || fail "REFLOW_TRACING_STORAGE_BACKEND"
REFLOW_TRACING_SQLITE_PATH=/tmp/x "$TRACEDB" config | grep -q 'data_dir = "/tmp/x"  # env REFLOW_TRACING_SQLITE_PATH' \
  || fail "REFLOW_TRACING_SQLITE_PATH"

# Errors name the key and exit non-zero.
printf '[server]\nprot = 1\n' > "$TMP/bad.toml"
"$TRACEDB" serve --config "$TMP/bad.toml" 2> "$TMP/err" && fail "unknown key accepted"
grep -q "server.prot" "$TMP/err" || fail "unknown key message: $(cat "$TMP/err")"
TRACEDB_SERVER_PORT=abc "$TRACEDB" serve --memory 2> "$TMP/err" && fail "bad env value accepted"
grep -q "TRACEDB_SERVER_PORT" "$TMP/err" || fail "bad env message: $(cat "$TMP/err")"
"$TRACEDB" serve --memory --set compression.algorithm=brotli 2> "$TMP/err" && fail "bad algorithm accepted"
grep -q "compression.algorithm" "$TMP/err" || fail "bad algorithm message: $(cat "$TMP/err")"
"$TRACEDB" serve --listen nonsense 2> "$TMP/err" && fail "bad --listen accepted"

# The example file documents every key and loads as is.
"$TRACEDB" config --config "$SRC/tracedb.example.toml" > /dev/null || fail "tracedb.example.toml does not load"
"$TRACEDB" config --keys | grep -E '^[a-z]' | while read -r key; do
  grep -q "^#\? *${key##*.} = " "$SRC/tracedb.example.toml" || { echo "FAIL: $key not in tracedb.example.toml" >&2; exit 1; }
done || exit 1
echo "cli: ok"
