#pragma once

// The HTTP read API, independent of the transport (the Beast layer calls
// it on a blocking worker thread, never on an I/O thread):
//
//   GET /v1/traces?q=<filter>&limit=N&cursor=C&count=1&explain=1&format=json|ndjson|table
//   GET /v1/aggregate?q=<filter | aggregation>&format=…
//   GET /v1/query?q=…    either kind (the CLI's --server mode)
//   GET /v1/traces/{trace_id}            Reflow FlowTrace JSON (operonx: request + events);
//                                        trace_id is a UUID or an operonx request_id
//   GET /v1/graph?q=<filter>&start=&end=&format=json|dot|svg
//                                        the data-flow graph (query/graph.h); start/end
//                                        RFC 3339 or ns bound the trace start
//   GET /v1/lineage?message_id=ID[&start=&end=]   the hops of one message (query/lineage.h)
//   GET /v1/fields                       the language's fields and types (query/fields.h)
//   GET /v1/fields/{name}/values?q=<filter>&start=&end=&prefix=&limit=N
//                                        a field's most frequent values with counts
//   GET /v1/traces/{trace_id}/critical_path      the longest causal chain of a trace
//   GET /v1/traces/{trace_id}/events/{event_id}/causality   an event's parent chain
//   GET /v1/flows/{flow_id}/versions     {"flow_id":…,"versions":[FlowVersion…]}
//   GET /v1/operonx/requests/{request_id}/{timeline|tree|turns|cost|slow|errors}[?k=N]
//
// Errors are JSON {"error":{"code":"…","message":"…"}}; a malformed query is
// a 400 whose message carries the position and the caret line.
//
// Thread-safe (the engine is).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"

namespace tracedb::server {

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Serves `target` (path plus query string) for `method`. Returns nullopt when
// the path is not part of this API (the caller answers 404).
std::optional<ApiResponse> HandleReadApi(std::string_view method, std::string_view target, engine::Engine* engine,
                                         schema::TimestampNs now_ns);

// The one mapping from Status to an HTTP status code.
int HttpStatusFor(const Status& status);

// {"error":{"code":"<StatusCode name>","message":"…"}} with HttpStatusFor.
ApiResponse ErrorResponse(const Status& status);

// {"error":{"code":"<code>","message":"…"}} with an explicit HTTP status
// and code name (HTTP-only refusals: "Unauthorized", "PayloadTooLarge"…).
ApiResponse ErrorResponse(int http_status, std::string_view code, std::string_view message);

// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space). Malformed
// percent escapes are kept literally.
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query);
std::string PercentDecode(std::string_view in, bool plus_is_space);
// Splits "/a/b/c" into {"a","b","c"}, each segment percent-decoded (empty
// segments dropped).
std::vector<std::string> PathSegments(std::string_view path);

}  // namespace tracedb::server
