#pragma once

// A blocking client for one ClickHouse HTTP endpoint (the HTTP interface is
// the same from 18.16 to current releases; ../shared/reference/clickhouse.md
// §9). Built on libcurl (docs/dependencies.md, "ClickHouse HTTP client").
//
// Requests (every one carries X-ClickHouse-User / X-ClickHouse-Key headers):
//   Query   POST <url>/?wait_end_of_query=1&<settings>        body: the SQL
//   Insert  POST <url>/?query=<INSERT … FORMAT …>&<settings>  body: the rows
//   Ping    GET  <url>/ping                                   reply "Ok.\n"
//
// Errors:
//   * the server could not be reached, the connection broke, or a timeout
//     expired: kUnavailable, "clickhouse <url>: <curl error text>"
//     (retryable; a timed-out or broken statement may or may not have run);
//   * a non-200 reply: "clickhouse <url>: Code N: <ClickHouse's message>",
//     kInvalidArgument for HTTP 400/404 (syntax error, unknown table,
//     function or setting), kUnauthenticated for 401/403 (unknown user, wrong
//     password), kUnavailable for 502/503/504 without a ClickHouse code (a
//     proxy in front of a node that is down), kIoError otherwise (500: the
//     statement failed while running). ClickHouseErrorCode() reads N back.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace tracedb::clickhouse {

struct ClientOptions {
  // Sent as X-ClickHouse-User. Default: "default".
  std::string user = "default";
  // Sent as X-ClickHouse-Key (omitted when empty). Default: "".
  std::string password;
  // Bound on establishing a TCP (and TLS) connection. Default: 2000 ms.
  std::chrono::milliseconds connect_timeout{2000};
  // Bound on one whole request, connection included. Query() also sends it
  // (rounded up to whole seconds) as max_execution_time unless the settings
  // name one, so that the server gives up too. Default: 60000 ms.
  std::chrono::milliseconds request_timeout{60000};
  // Idle keep-alive connections (one per curl easy handle) kept for reuse;
  // more concurrent requests than this open extra connections that are
  // closed after their request. Default: 8.
  size_t max_idle_connections = 8;
};

// Settings sent as URL parameters of one request, in order, e.g.
// {"max_execution_time", "10"}, {"query_id", "tracedb-42"} (so that
// `KILL QUERY WHERE query_id = …` can cancel it), {"insert_quorum", "2"}.
using QuerySettings = std::vector<std::pair<std::string, std::string>>;

// Counters of one client, for tests and metrics.
struct ClientStats {
  uint64_t requests = 0;             // requests attempted
  uint64_t connections_opened = 0;   // new TCP connections (curl CURLINFO_NUM_CONNECTS)
  uint64_t transport_errors = 0;     // requests that ended in kUnavailable from curl
};

// One ClickHouse HTTP endpoint ("http://127.0.0.1:18123"; https too).
//
// Thread-safety: safe for concurrent use. A request borrows a curl easy
// handle (one keep-alive connection) from a pool, or makes a new one when
// the pool is empty, and returns it afterwards; handles whose request failed
// in transport are closed, never reused. Calls block: use them from worker
// threads, never from network I/O threads.
class HttpClient {
 public:
  // Parses and checks `url` (scheme http or https, a host, no query,
  // fragment or credentials; a trailing '/' is dropped). A bad URL is
  // kInvalidArgument naming it. Does not connect.
  static Result<std::unique_ptr<HttpClient>> Create(const std::string& url, const ClientOptions& options);

  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The endpoint as normalized by Create(), e.g. "http://127.0.0.1:18123".
  const std::string& url() const { return url_; }

  // Runs one statement (`sql` is the POST body; one statement only) and
  // returns the whole response body, in whatever format the SQL names
  // ("FORMAT RowBinary", "FORMAT TabSeparated"…; TabSeparated by default).
  // wait_end_of_query=1 makes the server buffer the result, so an error in
  // the middle of a result is a non-200 reply, never a truncated body.
  Result<std::string> Query(std::string_view sql, const QuerySettings& settings = {});

  // Sends `body` as the data of `insert_sql` (e.g.
  // "INSERT INTO db.t FORMAT RowBinary", URL-encoded into ?query=). OK only
  // on HTTP 200, i.e. once ClickHouse has accepted every row. `body` must
  // stay valid for the call.
  Status Insert(std::string_view insert_sql, std::string_view body, const QuerySettings& settings = {});

  // GET /ping; OK when the server answers "Ok.\n".
  Status Ping();

  ClientStats stats() const;

 private:
  struct Handle;
  struct Request;
  struct Reply;

  HttpClient(std::string url, ClientOptions options);

  // Performs one request on a pooled handle. A transport failure is
  // returned as kUnavailable; any HTTP status is a Reply.
  Result<Reply> Perform(const Request& request);
  Status ErrorFromReply(const Reply& reply) const;
  enum class Buffering { kStream, kWaitEndOfQuery };
  std::string RequestUrl(std::string_view query, const QuerySettings& settings, Buffering buffering) const;

  std::unique_ptr<Handle> Borrow();
  void Return(std::unique_ptr<Handle> handle);

  const std::string url_;
  const ClientOptions options_;
  struct HeaderLists;
  std::unique_ptr<HeaderLists> headers_;  // built once, read-only afterwards

  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;  // GUARDED_BY(mu_), at most max_idle_connections

  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> connections_opened_{0};
  std::atomic<uint64_t> transport_errors_{0};
};

// The ClickHouse exception code carried by a Status this client returned
// ("… Code N: …"), or 0 when there is none (transport errors, OK). Survives
// Status::WithContext prefixes.
int ClickHouseErrorCode(const Status& status);

// A ClickHouse exception as a reply body spells it, in 18.16's form
// "Code: 62, e.displayText() = DB::Exception: MSG, e.what() = DB::Exception"
// or the current "Code: 62. DB::Exception: MSG. (SYNTAX_ERROR) (version …)".
struct ServerError {
  int code = 0;         // 0 when the body is not a ClickHouse exception
  std::string message;  // MSG
};
ServerError ParseServerError(std::string_view body);

// Percent-encodes `s` for a URL query component (RFC 3986 unreserved
// characters stay as they are).
std::string UrlEncode(std::string_view s);

}  // namespace tracedb::clickhouse
