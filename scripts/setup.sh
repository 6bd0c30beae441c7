#!/usr/bin/env bash
# Installs the Debian 12 packages tracedb needs to build, test and benchmark.
# Idempotent and non-interactive: does nothing when everything is present.
# Every tool a test drives is here: a test whose tool is missing fails
# (tests/scripts/require_tools.sh), it is never skipped.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  librocksdb-dev libflatbuffers-dev flatbuffers-compiler
  libboost1.81-dev libboost-json1.81-dev
  libxxhash-dev liblz4-dev libzstd-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsimdjson-dev libcli11-dev libfmt-dev libtomlplusplus-dev libre2-dev libssl-dev
  libsqlite3-dev libpq-dev libcurl4-openssl-dev
  libprotobuf-dev protobuf-compiler
  clang libclang-rt-14-dev
  # The sanitizer runtimes of the ASan + UBSan and ThreadSanitizer passes.
  libasan8 libubsan1 libtsan2
  # Script tests (tests/scripts): HTTP, compressed bodies, TLS, Prometheus
  # exposition, an independent WebSocket client (/usr/bin/python3 only).
  curl gzip zstd lz4 openssl prometheus python3 python3-websockets
  # GET /v1/graph?format=svg and `tracedb graph --format svg` run Graphviz's dot.
  graphviz
  # The web UI build (web/: esbuild and the UI packages by `npm ci` from a
  # pinned lockfile) and the OpenTelemetry interop test (tests/interop/otel):
  # the real JS SDK and exporters, installed by `npm ci` at test time.
  nodejs
  # The web UI test (tests/web): headless Chromium driven by puppeteer-core.
  chromium
  # Benchmark peers (bench_quick runs them all).
  postgresql
  # The ClickHouse backend's test cluster (tests/scripts/clickhouse_cluster.sh): two
  # ClickHouse 18.16 nodes and NATS for live fan-out; libnats-dev for the NATS client.
  clickhouse-server clickhouse-client nats-server libnats-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian ships npm apart from nodejs; NodeSource's nodejs bundles it (and
# conflicts with Debian's npm), so npm is installed only when absent.
command -v npm > /dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages and npm present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
