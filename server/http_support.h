#pragma once

// Transport-independent pieces of the HTTP front door (server/net.cc):
// access control (API keys, WebSocket Origin allow-list), the per-client
// rate limiter, a bounded blocking worker pool (reads and bulk ingest run
// there, never on I/O threads) and the HTTP metrics appended to
// GET /metrics. docs/server.md describes the behaviour.
//
// Thread-safety: every class here is thread-safe.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "server/config.h"
#include "server/metrics.h"

namespace tracedb::server {

// API keys and the WebSocket Origin allow-list.
class AccessControl {
 public:
  // Keys from auth.api_keys plus auth.api_keys_file (one per line, blank
  // lines and '#' comments skipped). Fails naming the file when it cannot be
  // read or holds a key with blanks.
  static Result<AccessControl> Create(const Config& config);

  // True when API keys are configured (requests must carry one).
  bool keys_required() const { return !keys_.empty(); }
  // Whether `key` is one of the keys (constant time in the key's content).
  bool IsValidKey(std::string_view key) const;
  // Whether an `Authorization` header value ("Bearer <key>", scheme
  // case-insensitive) carries a valid key.
  bool CheckAuthorization(std::string_view header) const;
  // For a WebSocket upgrade: the `bearer.<key>` entry of a
  // Sec-WebSocket-Protocol header value (comma-separated) whose key is
  // valid, else "" (*found set when some bearer.* entry was present).
  std::string FindBearerSubprotocol(std::string_view header, bool* found = nullptr) const;
  // Whether a WebSocket upgrade with this Origin header may proceed: no
  // allow-list, no Origin header (non-browser client), "*" in the list, or
  // an exact (case-insensitive) match.
  bool OriginAllowed(std::string_view origin) const;
  // Whether /metrics needs a key.
  bool metrics_requires_key() const { return metrics_requires_key_ && keys_required(); }
  // Whether an `Authorization` header value carries an admin key
  // (auth.admin_keys).
  bool CheckAdminAuthorization(std::string_view header) const;

 private:
  std::vector<std::string> keys_;        // every key, admin keys included
  std::vector<std::string> admin_keys_;
  std::vector<std::string> origins_;  // lower case
  bool metrics_requires_key_ = true;
};

// Token buckets per client (IP address): `rate` tokens per second up to
// `burst`; a request takes one. Idle clients are forgotten (the table is
// pruned when it grows beyond 10,000 clients).
class RateLimiter {
 public:
  // rate 0: disabled (Acquire always allows).
  RateLimiter(double rate, double burst);

  // 0 when the request may proceed (a token was taken); else the whole
  // seconds (>= 1) after which a token will be available (Retry-After).
  uint32_t Acquire(std::string_view client, std::chrono::steady_clock::time_point now);
  bool enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  const double rate_;
  const double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // GUARDED_BY(mu_)
};

// A fixed set of threads running tasks from one bounded queue.
class WorkerPool {
 public:
  // `threads` threads; at most threads + queue_capacity tasks admitted
  // (running or queued).
  WorkerPool(size_t threads, size_t queue_capacity);
  ~WorkerPool();  // Shutdown()

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Admits `task` unless the pool is full or shut down (false). `then`
  // (may be empty) runs on the same thread after the task, once its slot is
  // free again: a task's reply goes out from there, so a client that sends
  // its next request as soon as it has the reply is never refused for a
  // slot its previous request still held.
  bool TryAdd(std::function<void()> task, std::function<void()> then = {});
  // Tasks admitted and not finished.
  size_t pending() const;
  // Runs every queued task, then joins the threads. Idempotent.
  void Shutdown();

 private:
  void Run();

  const size_t limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Task {
    std::function<void()> run;
    std::function<void()> then;
  };
  std::deque<Task> tasks_;  // GUARDED_BY(mu_)
  size_t pending_ = 0;      // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

// Why a request or connection was refused (a label of
// tracedb_http_refusals_total).
enum class Refusal : uint8_t {
  kUnauthorized = 0,    // 401
  kForbiddenOrigin,     // 403
  kBodyTooLarge,        // 413
  kRateLimited,         // 429
  kConnectionLimit,     // 503
  kIngestOverload,      // 503
  kReadOverload,        // 503
  kShuttingDown,        // 503
  kBackendUnavailable,  // 503: the storage backend (a ClickHouse shard) could not be reached
  kCount,               // number of reasons (not a reason)
};

// What every refusal answers, whatever the route: the one mapping from a
// refusal to (HTTP status, error code, Retry-After, connection close). The
// body follows the route's error style (server/routes.h).
struct RefusalReply {
  int status;
  const char* code;  // "Unauthorized", "PayloadTooLarge", ...
  bool retry_after;  // send Retry-After (seconds: 1, or the rate limiter's wait)
  bool close;        // close the connection after the reply
};
RefusalReply RefusalReplyFor(Refusal reason);

// The refusal a storage error is answered with, if it is one: kUnavailable
// from the engine means its backend could not be reached (a ClickHouse shard
// none of whose replicas answered, after the identical block was re-sent
// clickhouse.insert_attempts times; the RocksDB engine never returns it) and
// is kBackendUnavailable. Any other status is an ordinary error (nullopt).
// On the ingest paths a commit is kUnavailable for no other reason: the group
// commit refuses requests only after the ingest pool has drained.
std::optional<Refusal> RefusalForStorageError(const Status& status);

// The labels of HTTP routes (tracedb_http_request_duration_seconds).
enum class Route : uint8_t { kHealth = 0, kMetrics, kIngest, kApi, kOther, kOtlp, kCount };

// Metrics of the HTTP side, rendered after Service::RenderMetrics.
struct HttpMetrics {
  std::atomic<int64_t> connections_open{0};       // TCP connections (HTTP and WebSocket)
  std::atomic<uint64_t> ingest_requests{0};       // bulk ingest requests answered
  std::atomic<int64_t> ingest_active{0};          // bulk ingest requests in progress
  std::atomic<uint64_t> ingest_accepted{0};       // events newly stored
  std::atomic<uint64_t> ingest_duplicates{0};     // events already stored
  std::atomic<uint64_t> ingest_rejected{0};       // rejected lines (as reported)
  std::atomic<uint64_t> ingest_bytes{0};          // body bytes as received
  std::atomic<uint64_t> ingest_decoded_bytes{0};  // body bytes after decompression
  std::atomic<uint64_t> otlp_requests{0};         // OTLP export requests answered
  std::atomic<uint64_t> otlp_spans_accepted{0};   // spans newly stored
  std::atomic<uint64_t> otlp_spans_duplicates{0}; // spans already stored (retried exports)
  std::atomic<uint64_t> otlp_spans_rejected{0};   // spans refused (partial_success)
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Refusal::kCount)> refusals{};
  // Responses by status class: index status / 100 (1..5).
  std::array<std::atomic<uint64_t>, 6> responses{};
  std::array<Histogram, static_cast<size_t>(Route::kCount)> latency;

  void Refuse(Refusal reason) { refusals[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed); }
  void Responded(Route route, int status, std::chrono::steady_clock::time_point start);
  // Appends the Prometheus text of these metrics.
  void Render(std::string* out) const;
};

// "unauthorized", "forbidden_origin", ...
const char* RefusalName(Refusal reason);
// "health", "metrics", "ingest", "api", "other", "otlp".
const char* RouteName(Route route);

}  // namespace tracedb::server
