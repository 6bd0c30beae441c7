#pragma once

// tracedb's C++ tracing client: records Reflow trace events from any thread
// and delivers them to a tracedb (or any Reflow-compatible) server over the
// Reflow WebSocket protocol (docs/client.md, reflow-protocol.md).
//
//   tracedb::client::Options options;
//   options.url = "ws://127.0.0.1:8080";
//   options.spool_dir = "/var/spool/myapp-traces";        // optional
//   auto client = tracedb::client::Client::Create(options);  // never fails on a down server
//   auto trace = client->StartTrace("checkout");
//   tracedb::client::Event e;
//   e.type = tracedb::client::EventType::kActorStarted;
//   e.actor_id = "gateway";
//   client->Record(trace, std::move(e));
//   client->EndTrace(trace, tracedb::client::ExecutionStatus::Completed());
//   client->Shutdown(std::chrono::seconds(10));              // waits for acks
//
// Delivery: at least once. Each request (StartTrace, RecordEvent, EndTrace)
// is kept until the server acknowledged it (an ack follows the server's
// durable write); after a reconnect the unacknowledged ones are sent again
// and the server drops the duplicates (it dedups events by event id within a
// trace, and StartTrace / EndTrace are idempotent). With a spool directory
// the unacknowledged requests are on disk too and survive a client restart.
//
// This header depends on the C++ standard library only.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tracedb::client {

// An error: empty message = success.
class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Error(std::string message) {
    Status s;
    s.message_ = message.empty() ? "error" : std::move(message);
    return s;
  }
  bool ok() const { return message_.empty(); }
  const std::string& message() const { return message_; }
  void IgnoreError() const {}

 private:
  std::string message_;
};

// A UUID (RFC 4122 byte order): trace ids and event ids.
struct Uuid {
  std::array<uint8_t, 16> bytes{};

  // A random version-4 UUID (a per-thread generator; no system call after
  // the first use on a thread).
  static Uuid Random();
  // Parses the lowercase/uppercase hyphenated form; false when malformed.
  static bool Parse(std::string_view text, Uuid* out);
  // Lowercase hyphenated, e.g. "5e1ec7ed-0000-4000-8000-000000000001".
  std::string ToString() const;
  bool IsNil() const;
  friend bool operator==(const Uuid&, const Uuid&) = default;
};

using TraceId = Uuid;

// Reflow TraceEventType (kDataFlow carries Event::to_actor / to_port).
enum class EventType : uint8_t {
  kActorCreated = 1,
  kActorStarted = 2,
  kActorCompleted = 3,
  kActorFailed = 4,
  kMessageSent = 5,
  kMessageReceived = 6,
  kStateChanged = 7,
  kPortConnected = 8,
  kPortDisconnected = 9,
  kDataFlow = 10,
  kNetworkEvent = 11,
};

// Reflow ExecutionStatus.
struct ExecutionStatus {
  enum class Code : uint8_t { kPending, kRunning, kCompleted, kFailed, kCancelled };
  Code code = Code::kCompleted;
  std::string error;  // kFailed only

  static ExecutionStatus Completed() { return {Code::kCompleted, {}}; }
  static ExecutionStatus Cancelled() { return {Code::kCancelled, {}}; }
  static ExecutionStatus Failed(std::string error) { return {Code::kFailed, std::move(error)}; }
};

// A Reflow MessageSnapshot without content (size, type, optional checksum).
struct MessageInfo {
  std::string message_type;
  uint64_t size_bytes = 0;
  std::string checksum;  // "" = not computed
};

// Reflow PerformanceMetrics; unset fields are sent as 0 (the G1 shape).
struct PerformanceMetrics {
  uint64_t execution_time_ns = 0;
  uint64_t memory_usage_bytes = 0;
  float cpu_usage_percent = 0;
  uint64_t queue_depth = 0;
  double throughput_msgs_per_sec = 0;
};

// One Reflow TraceEvent. Plain value.
struct Event {
  Uuid event_id;               // nil: Record() assigns a random one
  int64_t timestamp_ns = 0;    // Unix ns; 0: Record() uses the current time
  EventType type = EventType::kActorStarted;
  std::string actor_id;
  std::string to_actor;        // kDataFlow only
  std::string to_port;         // kDataFlow only
  std::optional<std::string> port;
  std::optional<MessageInfo> message;
  std::optional<std::string> error;
  PerformanceMetrics metrics;
  std::string custom_attributes_json = "{}";  // a JSON object, sent verbatim
  std::optional<Uuid> parent_event_id;
  Uuid root_cause_event_id;    // nil: the event's own id
  std::vector<Uuid> dependency_chain;
  std::string span_id;         // "": the event id as a string
};

// What Record() does when the buffer is full.
enum class OverflowPolicy : uint8_t {
  // The caller waits until there is room (nothing is ever dropped).
  kBlock,
  // The oldest buffered event not yet sent is dropped (counted in
  // Counters::dropped); the caller never waits.
  kDropOldest,
};

// Whether requests are sent as zstd Binary frames.
enum class Compression : uint8_t {
  kOff,   // Text frames only
  kAuto,  // probe with a zstd Ping on each connection; Binary frames when answered with Pong
  kOn,    // Binary frames without probing
};

struct Options {
  // ws://host:port[/path]. Default: "ws://127.0.0.1:8080".
  std::string url = "ws://127.0.0.1:8080";
  // Sent as `Authorization: Bearer <api_key>` on every connection when the
  // server has auth.api_keys. Without a valid key the server refuses the
  // upgrade (401) and the client keeps retrying with backoff; nothing is
  // acknowledged. Default: "" (no header).
  std::string api_key;
  // Requests sent once this many are waiting. Default: 256.
  size_t batch_size = 256;
  // ...or once the oldest waiting one is this old. Default: 20 ms.
  std::chrono::milliseconds batch_timeout{20};
  // Requests buffered (waiting, in flight or unacknowledged) at most; the
  // overflow policy applies beyond. Default: 100000.
  size_t max_buffered = 100000;
  // Default: kBlock.
  OverflowPolicy overflow = OverflowPolicy::kBlock;
  // Requests sent and not yet acknowledged on a connection at most (keep it
  // below the server's server.max_inflight_per_connection). Default: 2048.
  size_t max_in_flight = 2048;
  // Default: kAuto.
  Compression compression = Compression::kAuto;
  // Messages shorter than this go as Text even with compression. Default: 256.
  size_t compress_min_bytes = 256;
  // Reconnect backoff: first delay, doubling up to max, each multiplied by a
  // random factor in [0.5, 1.0] (jitter). Default: 100 ms, 5 s.
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  // Connect + handshake timeout. Default: 5 s.
  std::chrono::milliseconds connect_timeout{5000};
  // A connection with requests in flight and no ack for this long is cut
  // and retried. Default: 30 s.
  std::chrono::milliseconds ack_timeout{30000};
  // Optional spool directory: every request is appended there before it is
  // sent and forgotten once acknowledged, so unacknowledged requests
  // survive a server outage and a client crash or restart (they are
  // resent when a Client opens the same directory). One Client per
  // directory at a time. Default: "" (memory only).
  std::string spool_dir;
  // How long the destructor waits for acks (Shutdown(shutdown_timeout)
  // unless Shutdown was called). Default: 5 s.
  std::chrono::milliseconds shutdown_timeout{5000};
  // fsync the spool after each batch appended (survives power loss, slower).
  // Default: false (survives a process crash).
  bool spool_fsync = false;
};

// Monotonic counters, in requests (StartTrace, RecordEvent and EndTrace
// each count one).
struct Counters {
  uint64_t recorded = 0;   // accepted by StartTrace/Record/EndTrace (and replayed from the spool)
  uint64_t sent = 0;       // frames written (resends included)
  uint64_t acked = 0;      // acknowledged by the server (each request once)
  uint64_t retried = 0;    // resent after a connection was lost
  uint64_t dropped = 0;    // dropped by OverflowPolicy::kDropOldest
  uint64_t rejected = 0;   // answered with an error reply (not retried; counted in acked too)
  uint64_t buffered = 0;   // current: recorded, not yet acked or dropped
  uint64_t connects = 0;   // successful connections
  uint64_t connect_failures = 0;
  bool connected = false;  // current
  bool compressed = false; // current connection sends zstd Binary frames
};

// The tracing client. Thread-safe: every method may be called from any
// thread. Owns one I/O thread.
class Client {
 public:
  // Starts the client and its I/O thread; it connects in the background and
  // keeps retrying, so a server that is down is not an error. Fails only on
  // bad options (unparseable URL) or an unusable spool directory. With a
  // spool, requests left there by a previous Client are queued first.
  static std::unique_ptr<Client> Create(const Options& options, Status* error = nullptr);

  // Shutdown(options.shutdown_timeout) unless Shutdown was called.
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts a trace of flow `flow_id` (version 1.0.0 unless given) and
  // returns its client-owned id (G2 StartTrace{trace_id}).
  TraceId StartTrace(std::string_view flow_id, uint32_t major = 1, uint32_t minor = 0, uint32_t patch = 0);
  // Records `event` into `trace` (assigning event_id / timestamp when unset).
  void Record(const TraceId& trace, Event event);
  // Ends `trace` with `status` (G2 EndTrace).
  void EndTrace(const TraceId& trace, const ExecutionStatus& status);

  // Sends what is waiting now and waits until everything recorded before
  // the call is acknowledged (or dropped). False when `timeout` passed first.
  bool Flush(std::chrono::milliseconds timeout);

  // Flush(timeout), then closes the connection and stops the I/O thread.
  // Requests still unacknowledged stay in the spool (when there is one).
  // Returns whether everything was acknowledged. Record() after Shutdown
  // drops the request (counted). Idempotent: a second call returns
  // whether the buffer is empty, without waiting.
  bool Shutdown(std::chrono::milliseconds timeout);

  Counters counters() const;
  // Per-request latency from Record() to its ack, in microseconds, of the
  // last 65536 acks (sorted ascending). For benchmarks.
  std::vector<uint32_t> AckLatenciesUs() const;

  class Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A plain request/reply WebSocket connection for queries and
// subscriptions (examples, `tracedb tail`). Not thread-safe: one thread at
// a time. Messages are JSON texts (Binary zstd replies are decompressed).
class Connection {
 public:
  // Connects to `url` (ws://host:port[/path]); `compress` adds ?compress=1
  // so that large replies come as zstd Binary frames; a non-empty `api_key`
  // is sent as `Authorization: Bearer <api_key>`.
  static std::unique_ptr<Connection> Open(const std::string& url, std::chrono::milliseconds timeout,
                                          Status* error, bool compress = false, const std::string& api_key = "");
  ~Connection();

  Status Send(std::string_view json);
  // The next message. Returns false with an empty *error on timeout (the
  // read stays pending; call again), false with a message when the
  // connection failed or closed.
  bool Receive(std::string* json, std::chrono::milliseconds timeout, Status* error);
  // Send() then the next message that is not an EventNotification.
  Status Request(std::string_view json, std::string* reply, std::chrono::milliseconds timeout);

  class Impl;

 private:
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Request builders (serde-exact Reflow JSON).
struct SubscriptionFilters {
  std::optional<std::vector<std::string>> flow_ids;
  std::optional<std::vector<std::string>> actor_ids;
  // Exact match on the server; kDataFlow is sent with empty to_actor/to_port.
  std::optional<std::vector<EventType>> event_types;
  std::optional<std::vector<ExecutionStatus>> status_filter;
};
std::string SubscribeJson(const SubscriptionFilters& filters);

struct TraceQuery {
  std::optional<std::string> flow_id;
  std::optional<ExecutionStatus> status;
  std::optional<std::string> actor_filter;
  std::optional<std::pair<int64_t, int64_t>> time_range_ns;
  std::optional<uint64_t> limit;
  std::optional<uint64_t> offset;
};
std::string QueryTracesJson(const TraceQuery& query);
std::string GetTraceJson(const TraceId& trace);

// The Reflow wire name of an event type ("ActorStarted").
std::string_view EventTypeName(EventType type);
// Parses a wire name; false when unknown.
bool ParseEventType(std::string_view name, EventType* out);

}  // namespace tracedb::client
