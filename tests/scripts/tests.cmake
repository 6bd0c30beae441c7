# Script-driven tests: real `tracedb serve` processes driven by curl,
# promtool and an independent WebSocket implementation (Debian's
# python3-websockets 10.4, which only /usr/bin/python3 has).
# Included by tests/CMakeLists.txt.
#
# Every test is registered whatever is installed: each runs through
# require_tools.sh, which FAILS it, naming the Debian package, when a tool it
# drives is missing (scripts/setup.sh installs them all). A missing tool is a
# failure, never a skipped or absent test.
if(TARGET tracedb)
  set(_scripts ${CMAKE_CURRENT_LIST_DIR})
  set(_require bash ${_scripts}/require_tools.sh)
  add_test(NAME scripts.cli COMMAND bash ${_scripts}/cli_test.sh $<TARGET_FILE:tracedb> ${CMAKE_SOURCE_DIR})
  set_tests_properties(scripts.cli PROPERTIES TIMEOUT 60)

  # `tracedb graph` (local and --server, SVG via Graphviz), /v1/graph and the
  # Jaeger API on a real server.
  add_test(NAME scripts.graph_cli
           COMMAND ${_require} curl dot -- bash ${_scripts}/graph_cli_test.sh $<TARGET_FILE:tracedb>
                   ${CMAKE_SOURCE_DIR}/../shared)
  set_tests_properties(scripts.graph_cli PROPERTIES TIMEOUT 120)

  add_test(NAME scripts.http_metrics
           COMMAND ${_require} curl promtool -- bash ${_scripts}/http_metrics_test.sh $<TARGET_FILE:tracedb>)
  set_tests_properties(scripts.http_metrics PROPERTIES TIMEOUT 60)

  # Bulk ingest, query API, refusals, TLS (https and wss), restart: curl,
  # the gzip, zstd, lz4 and openssl CLIs and python3-websockets.
  add_test(NAME scripts.http_ingest
           COMMAND ${_require} curl gzip zstd lz4 openssl /usr/bin/python3 python3:websockets
                   -- bash ${_scripts}/http_ingest_test.sh $<TARGET_FILE:tracedb>)
  set_tests_properties(scripts.http_ingest PROPERTIES TIMEOUT 180)

  add_test(NAME scripts.reflow_interop
           COMMAND ${_require} /usr/bin/python3 python3:websockets
                   -- /usr/bin/python3 ${_scripts}/reflow_interop_test.py $<TARGET_FILE:tracedb>
                   ${CMAKE_SOURCE_DIR}/../shared)
  set_tests_properties(scripts.reflow_interop PROPERTIES TIMEOUT 120)
  add_test(NAME scripts.operonx_exporter
           COMMAND ${_require} /usr/bin/python3
                   -- /usr/bin/python3 ${_scripts}/operonx_exporter_test.py $<TARGET_FILE:tracedb> ${CMAKE_SOURCE_DIR})
  set_tests_properties(scripts.operonx_exporter PROPERTIES TIMEOUT 120)

  # The real OpenTelemetry JS SDK and OTLP/HTTP exporters (pinned in
  # tests/interop/otel/package-lock.json, `npm ci` into the build tree):
  # JSON and protobuf, plain and gzip, read back typed; a re-export stored
  # once; a 503 + Retry-After from server.max_connections retried.
  add_test(NAME scripts.otel_interop
           COMMAND ${_require} node npm /usr/bin/python3
                   -- /usr/bin/python3 ${_scripts}/otel_interop_test.py $<TARGET_FILE:tracedb> ${CMAKE_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR})
  set_tests_properties(scripts.otel_interop PROPERTIES TIMEOUT 300 LABELS scripts)

  # The web UI in Debian's headless chromium, driven by puppeteer-core
  # (pinned in tests/web/package-lock.json, `npm ci` into the build tree):
  # every page against a seeded `tracedb serve`, screenshots in
  # <build dir>/web-test/screenshots (tests/web/web_ui_test.mjs).
  add_test(NAME scripts.web_ui
           COMMAND ${_require} node npm /usr/bin/chromium
                   -- node ${CMAKE_SOURCE_DIR}/tests/web/web_ui_test.mjs $<TARGET_FILE:tracedb> ${CMAKE_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR})
  set_tests_properties(scripts.web_ui PROPERTIES TIMEOUT 300 LABELS scripts)
endif()

# SIGKILL of a live `tracedb serve` in the middle of a chunked bulk upload and
# of pipelined WebSocket streams, 20 rounds on one data directory; after each
# restart every acknowledged request is there, no commit unit is half visible,
# and headers, indexes and columns agree with the events. Registered
# unconditionally: without /usr/bin/python3 or python3-websockets it fails.
if(TARGET tracedb)
  add_test(NAME scripts.server_kill
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/server_kill_test.py $<TARGET_FILE:tracedb>)
  set_tests_properties(scripts.server_kill PROPERTIES TIMEOUT 180)

  # Online backup under continuous ingest, restore, `tracedb check` on the
  # restored store (docs/operations.md).
  add_test(NAME scripts.backup
           COMMAND ${_require} /usr/bin/python3
                   -- /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/backup_test.py $<TARGET_FILE:tracedb>)
  set_tests_properties(scripts.backup PROPERTIES TIMEOUT 120)
endif()

# A full disk: `tracedb serve` on a 64 MiB tmpfs the test mounts and
# unmounts (root): 507 / StorageError when full, reads keep working, ingest
# resumes once space returns, nothing acknowledged lost (SIGKILL + restart).
if(TARGET tracedb)
  add_test(NAME scripts.full_disk
           COMMAND ${_require} mount umount /usr/bin/python3 python3:websockets
                   -- /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/full_disk_test.py $<TARGET_FILE:tracedb>)
  set_tests_properties(scripts.full_disk PROPERTIES TIMEOUT 300)
endif()

# A short soak (tests/scripts/soak_test.py): 1,000 WebSocket connections
# recording at once plus 50 subscribers, 10 of which never read: every
# acknowledged event stored, stalled subscribers cost only counted drops,
# peak RSS bounded and printed.
if(TARGET tracedb)
  add_test(NAME scripts.soak
           COMMAND ${_require} /usr/bin/python3 python3:websockets
                   -- /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/soak_test.py $<TARGET_FILE:tracedb>)
  set_tests_properties(scripts.soak PROPERTIES TIMEOUT 600)
endif()

# The C++ client and the example clients (client/cpp, examples/): smoke
# tests of every example and `tracedb tail`; SIGKILLs of the server while
# performance_client records 100,000 events with a spool.
if(TARGET tracedb AND TARGET performance_client)
  add_test(NAME scripts.examples
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/examples_test.sh $<TARGET_FILE:tracedb>
                   $<TARGET_FILE_DIR:performance_client>)
  set_tests_properties(scripts.examples PROPERTIES TIMEOUT 120)
  add_test(NAME scripts.client_kill
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/client_kill_test.sh $<TARGET_FILE:tracedb>
                   $<TARGET_FILE_DIR:performance_client>)
  set_tests_properties(scripts.client_kill PROPERTIES TIMEOUT 240)
endif()

# The ClickHouse backend at server level (tests/clickhouse has the engine's
# suites): the Reflow protocol suite above against a ClickHouse-backed
# server, and two servers over one database on the two shards of the test
# cluster (ingest through A, read through B; shard 2 killed during ingest and
# restarted, with exact counts; an unreachable cluster at start). They need
# the fixture `clickhouse_cluster` and hold the `clickhouse` lock (one kills
# n2) with the environment of the clickhouse suites (tests/CMakeLists.txt).
if(TARGET tracedb)
  add_test(NAME scripts.reflow_interop_clickhouse
           COMMAND ${_require} /usr/bin/python3 python3:websockets
                   -- /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/reflow_interop_test.py $<TARGET_FILE:tracedb>
                   ${CMAKE_SOURCE_DIR}/../shared --clickhouse)
  add_test(NAME scripts.scaleout
           COMMAND ${_require} /usr/bin/python3 python3:websockets
                   -- /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/scaleout_test.py $<TARGET_FILE:tracedb>)
  set_tests_properties(scripts.reflow_interop_clickhouse scripts.scaleout PROPERTIES
                       TIMEOUT 180 LABELS clickhouse FIXTURES_REQUIRED clickhouse_cluster RESOURCE_LOCK clickhouse
                       ENVIRONMENT "${_ch_env}")
endif()
