#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: installs what is missing, builds,
# and starts the server on the embedded default (RocksDB under ./data,
# WebSocket and HTTP on 127.0.0.1:8080). Extra arguments go to `tracedb serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec build/tracedb serve --listen 127.0.0.1:8080 --data ./data "$@"
