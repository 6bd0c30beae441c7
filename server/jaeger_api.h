#pragma once

// Jaeger's query API (what Jaeger UI and Grafana's Jaeger data source call),
// independent of the transport; the HTTP session runs it on the read pool,
// like the read API (server/http_api.h):
//
//   GET /api/services                          {"data":["svc",…]}
//   GET /api/services/{service}/operations     {"data":["op",…]}
//   GET /api/operations?service=S&spanKind=K   {"data":[{"name","spanKind"}…]}
//   GET /api/traces?service=&operation=&tags={json}|tag=k:v…&start=&end= (µs)
//       &minDuration=&maxDuration= (Go durations)&limit=&lookback=&traceID=…
//                                              {"data":[Trace…]}
//   GET /api/traces/{id}                       {"data":[Trace]}
//   GET /api/dependencies?endTs=&lookback= (ms) {"data":[{"parent","child","callCount"}]}
//
// Every answer is Jaeger's envelope {"data","total","limit","offset","errors"};
// an error is {"data":null,…,"errors":[{"code":N,"msg":"…"}]} with HTTP
// status N (400 bad parameter, 404 unknown trace or path, 500 store error).
// The span mapping is query/jaeger.h; docs/jaeger-api.md documents both.
//
// Thread-safe (the engine is).

#include <optional>
#include <string_view>

#include "engine/engine.h"
#include "server/http_api.h"

namespace tracedb::server {

// Serves `target` (path and query string) under /api/. Returns nullopt when
// the path is not under /api/.
std::optional<ApiResponse> HandleJaegerApi(std::string_view method, std::string_view target, engine::Engine* engine,
                                           schema::TimestampNs now_ns);

}  // namespace tracedb::server
