# Script-driven tests: real `tracedb serve` processes driven by curl,
# promtool and an independent WebSocket implementation (Debian's
# python3-websockets 10.4, which only /usr/bin/python3 has).
# Included by tests/CMakeLists.txt.
if(TARGET tracedb)
  set(_scripts ${CMAKE_CURRENT_LIST_DIR})
  add_test(NAME scripts.cli COMMAND bash ${_scripts}/cli_test.sh $<TARGET_FILE:tracedb> ${CMAKE_SOURCE_DIR})
  set_tests_properties(scripts.cli PROPERTIES TIMEOUT 60)

  find_program(CURL_PROGRAM curl)
  find_program(PROMTOOL_PROGRAM promtool)
  if(CURL_PROGRAM AND PROMTOOL_PROGRAM)
    add_test(NAME scripts.http_metrics COMMAND bash ${_scripts}/http_metrics_test.sh $<TARGET_FILE:tracedb>)
    set_tests_properties(scripts.http_metrics PROPERTIES TIMEOUT 60)
  else()
    message(STATUS "curl or promtool missing: scripts.http_metrics not registered")
  endif()

  # Bulk ingest, query API, refusals, TLS, restart: curl plus the gzip, zstd,
  # lz4 and openssl CLIs.
  find_program(GZIP_PROGRAM gzip)
  find_program(ZSTD_PROGRAM zstd)
  find_program(LZ4_PROGRAM lz4)
  find_program(OPENSSL_PROGRAM openssl)
  if(CURL_PROGRAM AND GZIP_PROGRAM AND ZSTD_PROGRAM AND LZ4_PROGRAM AND OPENSSL_PROGRAM)
    add_test(NAME scripts.http_ingest COMMAND bash ${_scripts}/http_ingest_test.sh $<TARGET_FILE:tracedb>)
    set_tests_properties(scripts.http_ingest PROPERTIES TIMEOUT 180)
  else()
    message(STATUS "curl, gzip, zstd, lz4 or openssl missing: scripts.http_ingest not registered "
                   "(the C++ HttpTest.* cover the same paths with in-process compression)")
  endif()

  if(EXISTS /usr/bin/python3)
    add_test(NAME scripts.reflow_interop
             COMMAND /usr/bin/python3 ${_scripts}/reflow_interop_test.py $<TARGET_FILE:tracedb>
                     ${CMAKE_SOURCE_DIR}/../shared)
    set_tests_properties(scripts.reflow_interop PROPERTIES TIMEOUT 120)
    add_test(NAME scripts.operonx_exporter
             COMMAND /usr/bin/python3 ${_scripts}/operonx_exporter_test.py $<TARGET_FILE:tracedb> ${CMAKE_SOURCE_DIR})
    set_tests_properties(scripts.operonx_exporter PROPERTIES TIMEOUT 120)
  endif()
endif()
