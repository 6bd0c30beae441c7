#pragma once

// The HTTP route table: every plain-HTTP endpoint of the server is one row
// (method, path pattern, handler, key policy, body policy, error style).
// The HTTP session (server/http_session.cc) looks a request up here and
// does what the row says; nothing else decides routes. WebSocket upgrades
// are not rows: an upgrade on any path becomes a Reflow session.
//
// Adding an endpoint: add a Handler (if it needs new code) and a row in
// RouteTable::For (routes.cc); the session's dispatch switch then names the
// code that serves it.
//
// Thread-safety: a RouteTable is immutable after construction.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.h"
#include "server/http_support.h"

namespace tracedb::server {

// What serves a route.
enum class Handler : uint8_t {
  kHealth,         // GET /healthz
  kReady,          // GET /readyz
  kMetrics,        // GET <metrics.endpoint>
  kReadApi,        // GET /v1/... (server/http_api.h), on the read pool
  kJaegerApi,      // GET /api/... Jaeger's query API (server/jaeger_api.h), on the read pool
  kIngestReflow,   // POST /v1/ingest/reflow: NDJSON bulk ingest, body streamed
  kIngestOperonx,  // POST /v1/ingest/operonx
  kIngestUnknown,  // any other /v1/ingest/...: 404 naming the two above
  kOtlpTraces,     // POST /v1/traces: OTLP/HTTP export (server/otlp_export.h)
  kWebUi,          // GET /, /traces/…, /graph, /live, /ui/…: the web UI (server/web_assets.h)
  kAdminBackup,    // POST /v1/admin/backup (server/admin_api.h), on the admin pool
};

// Whether a request needs an API key (when auth.api_keys are configured).
enum class KeyPolicy : uint8_t {
  kNone,     // never (health probes)
  kApiKey,   // always
  kMetrics,  // when auth.metrics_requires_key
  // An admin key (auth.admin_keys) when any key is configured; with no keys
  // at all, only clients on the loopback address.
  kAdmin,
};

// How the request body is read.
enum class BodyPolicy : uint8_t {
  kSmall,     // read whole (at most kSmallBodyLimit bytes) and ignored
  kStreamed,  // streamed to a worker thread (http.max_body_bytes as sent)
};

// How errors are written.
enum class ErrorStyle : uint8_t {
  kJson,  // {"error":{"code":"…","message":"…"}}
  kOtlp,  // a google.rpc.Status in the request's encoding (protobuf or JSON)
};

struct RouteSpec {
  std::string methods;  // the Allow header value: "GET, HEAD" or "POST"
  std::string path;     // the path, or its prefix when `prefix`
  bool prefix = false;
  Handler handler = Handler::kReadApi;
  KeyPolicy key = KeyPolicy::kApiKey;
  BodyPolicy body = BodyPolicy::kSmall;
  ErrorStyle errors = ErrorStyle::kJson;
  Route label = Route::kOther;  // the metrics label (http_support.h)

  // Whether `method` (e.g. "GET") is one of `methods`.
  bool Allows(std::string_view method) const;
};

// The result of a lookup.
struct RouteMatch {
  // The row to serve; nullptr: no endpoint (404) or, when `allow` is set,
  // an endpoint that does not take this method (405 with Allow: allow).
  const RouteSpec* route = nullptr;
  std::string allow;
};

class RouteTable {
 public:
  // The rows for `config` (the metrics endpoint and whether it exists are
  // configured).
  static RouteTable For(const Config& config);

  // The first row whose path matches decides: among the rows with that same
  // path the one allowing `method`, else a 405 naming their methods. Rows
  // are ordered exact paths first, then prefixes longest first.
  RouteMatch Find(std::string_view method, std::string_view path) const;

  const std::vector<RouteSpec>& rows() const { return rows_; }

 private:
  std::vector<RouteSpec> rows_;
};

}  // namespace tracedb::server
