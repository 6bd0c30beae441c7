#pragma once

// The client's requests as the library holds them between Record() and the
// I/O thread, and their serde-exact JSON (through the server's own codec,
// ingest/reflow/reflow_json.h, so client and server agree byte for byte).
// Internal to client/cpp; no Beast.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "client/cpp/include/tracedb/client.h"

namespace tracedb::client::internal {

// Persisted in the spool (record kind byte): do not renumber.
enum class RequestKind : uint8_t { kStartTrace = 0, kRecordEvent = 1, kEndTrace = 2 };

struct StartTraceRequest {
  TraceId trace_id;
  std::string flow_id;
  uint32_t major = 1, minor = 0, patch = 0;
  int64_t timestamp_ns = 0;
};
struct RecordEventRequest {
  TraceId trace_id;
  Event event;
};
struct EndTraceRequest {
  TraceId trace_id;
  ExecutionStatus status;
};

// One request as recorded by a caller, not yet encoded.
struct RawRequest {
  std::variant<StartTraceRequest, RecordEventRequest, EndTraceRequest> body;
  std::chrono::steady_clock::time_point recorded;
};

RequestKind KindOf(const RawRequest& request);

// The request's JSON text (one WebSocket message).
std::string Encode(const RawRequest& request);

// What a reply to a StartTrace / RecordEvent / EndTrace means.
enum class ReplyKind : uint8_t {
  kAck,           // TraceStarted, EventRecorded{success:true}
  kRejected,      // an error the same request would get again (bad request)
  kRetry,         // a transient server error (storage, shutting down): resend later
  kNotification,  // EventNotification: not a reply
  kPong,          // "Pong"
  kUnknown,       // anything else: treated as a reply to a request that is not ours (protocol error)
};
ReplyKind ClassifyReply(std::string_view json);

// Current time, Unix ns.
int64_t NowNs();

}  // namespace tracedb::client::internal
