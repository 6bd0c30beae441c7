#pragma once

// A fixed OpenTelemetry data set for the query tests, written through the
// real OTLP mapping (ingest/otel) so that the stored spans, header, flow and
// actor index values are what an export would produce.
//
// Trace n (1..kOtelTraces) has id TraceId(n) ("t<n>"), starts at
// kT0 + n s and has three or four spans:
//   root       `RootName(n)`, kind server, service RootService(n),
//              duration (50 + n) ms, attrs http.route (string),
//              http.status_code (int: 500 when n % 6 == 0, else 200),
//              status error ("boom") when n % 6 == 0, else unset
//   db.query   kind client, service "db" when n is even, else the root's,
//              duration DbQueryMs(n) ms, status ok, attrs db.system
//              ("postgresql"), db.rows (int n % 7)
//   cache.get  kind internal, root's service, duration (n % 3) ms + 500 us,
//              attrs cache.hit (bool, n even), ratio (double n / 8)
//   publish    (n % 4 == 0 only) kind producer, root's service, 1 ms, status ok
// Resources carry service.name and k8s.pod.name ("pod-<n % 4>"; "db-0" for
// the db service); the scope is tracedb-test 1.0.

#include <cstdint>
#include <string>

#include "engine/engine.h"

namespace tracedb::query::testing {

inline constexpr uint64_t kOtelTraces = 30;

std::string RootService(uint64_t n);  // checkout, frontend, search by n % 3
std::string RootName(uint64_t n);     // "GET /<root service>"
int64_t DbQueryMs(uint64_t n);        // (n * 7) % 23 + 1

Status WriteOtelDataset(engine::Engine* engine);

}  // namespace tracedb::query::testing
