#pragma once

// tracedb's one data model for traces and events, whatever their source.
//
// A Trace is one unit of work: a Reflow FlowTrace (one flow execution), an
// operonx request (all TraceEvents of one request_id), or (later) an
// OpenTelemetry trace. An Event is one thing that happened inside it. The
// mapping of each source onto these types is in docs/data-model.md.
//
// The model holds every field of every source without loss: optional fields
// stay optional (absent is distinct from zero), timestamps are nanoseconds,
// byte arrays are bytes, and free-form JSON (Reflow custom_attributes, operonx
// payloads) is kept as its JSON text. Fields that only one protocol
// generation writes carry a presence flag so that the record prints back in
// the shape it arrived in.
//
// These are plain values: no invariants beyond those stated per field, no
// thread-safety beyond that of std containers.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tracedb::schema {

// 16 raw bytes; for Reflow ids these are the UUID's bytes in RFC 4122 order.
using Id128 = std::array<uint8_t, 16>;

// Nanoseconds since the Unix epoch, UTC. Signed so that instants before 1970
// are representable (chrono accepts them).
using TimestampNs = int64_t;

// Persisted: do not renumber.
enum class Source : uint8_t {
  kReflow = 1,
  kOperonx = 2,
  kOtel = 3,
};

// The lifecycle status of a trace. Persisted: do not renumber.
enum class StatusCode : uint8_t {
  kPending = 0,
  kRunning = 1,
  kCompleted = 2,
  kFailed = 3,
  kCancelled = 4,
};

// Reflow's ExecutionStatus: a code, plus the error text of Failed.
struct ExecutionStatus {
  StatusCode code = StatusCode::kRunning;
  std::string error;  // meaningful only when code == kFailed

  friend bool operator==(const ExecutionStatus&, const ExecutionStatus&) = default;
};

// What kind of thing an event records. Reflow's TraceEventType values first,
// then operonx kinds, then OpenTelemetry. Persisted: do not renumber.
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
  kDataFlow = 10,  // carries Event::to_actor / Event::to_port
  kNetworkEvent = 11,
  // operonx 0.8 kinds
  kOpStart = 32,
  kOpEnd = 33,
  kOpYield = 34,
  kAnnotation = 35,
  kGroupStart = 36,
  kGroupEnd = 37,
  kLlmUsage = 38,
  kMediaRef = 39,
  kOperonxOther = 47,  // an unknown operonx kind; its text is in OperonxEvent::kind
  // OpenTelemetry
  kSpan = 64,
};

// Persisted: do not renumber.
enum class StateDiffType : uint8_t {
  kFull = 0,
  kIncremental = 1,
  kMemoryOnly = 2,
};

struct FlowVersion {
  uint32_t major = 0;
  uint32_t minor = 0;
  uint32_t patch = 0;
  std::optional<std::string> git_hash;
  TimestampNs timestamp_ns = 0;

  friend bool operator==(const FlowVersion&, const FlowVersion&) = default;
};

// Reflow MessageSnapshot. The G2 fields are present only when has_g2_fields.
struct MessageSnapshot {
  std::string message_type;
  uint64_t size_bytes = 0;
  std::string checksum;
  std::vector<uint8_t> serialized_data;
  bool has_g2_fields = false;
  std::string content_codec = "none";
  uint32_t content_format_version = 0;
  std::optional<uint64_t> stored_bytes;

  friend bool operator==(const MessageSnapshot&, const MessageSnapshot&) = default;
};

struct StateDiff {
  std::optional<std::vector<uint8_t>> before;
  std::vector<uint8_t> after;
  StateDiffType diff_type = StateDiffType::kFull;

  friend bool operator==(const StateDiff&, const StateDiff&) = default;
};

// Reflow PerformanceMetrics: G1 always sends all five; G2 may send null.
struct PerformanceMetrics {
  std::optional<uint64_t> execution_time_ns;
  std::optional<uint64_t> memory_usage_bytes;
  std::optional<float> cpu_usage_percent;
  std::optional<uint64_t> queue_depth;
  std::optional<double> throughput_msgs_per_sec;

  friend bool operator==(const PerformanceMetrics&, const PerformanceMetrics&) = default;
};

struct Causality {
  std::optional<Id128> parent_event_id;
  Id128 root_cause_event_id{};
  std::vector<Id128> dependency_chain;
  std::string span_id;

  friend bool operator==(const Causality&, const Causality&) = default;
};

// The Reflow-specific part of an event (TraceEventData + CausalityInfo).
struct ReflowEventData {
  std::optional<std::string> port;
  std::optional<MessageSnapshot> message;
  std::optional<StateDiff> state_diff;
  std::optional<std::string> error;
  PerformanceMetrics metrics;
  std::string custom_attributes_json = "{}";  // a JSON object, as text
  Causality causality;

  friend bool operator==(const ReflowEventData&, const ReflowEventData&) = default;
};

// The operonx-specific part of an event.
struct OperonxEvent {
  std::string kind;                   // the wire string, kept even when unknown
  std::optional<std::string> op_name; // full name "graph.var"; null for groups
  std::vector<std::string> ctx;       // scheduler context, e.g. ["main","[0]"]
  std::string payload_json = "{}";    // a JSON object, as text

  friend bool operator==(const OperonxEvent&, const OperonxEvent&) = default;
};

// An attribute value of an OpenTelemetry span (room for later sources).
struct AttributeValue {
  enum class Kind : uint8_t { kString = 0, kBool = 1, kInt = 2, kDouble = 3, kBytes = 4, kJson = 5 };
  Kind kind = Kind::kString;
  std::string str;  // kString, kBytes, kJson (array / kvlist as JSON text)
  int64_t i = 0;    // kInt, kBool
  double d = 0;     // kDouble

  friend bool operator==(const AttributeValue&, const AttributeValue&) = default;
};

// The OpenTelemetry-specific part of an event (one span). Not yet ingested;
// the storage schema already carries it so that OTLP needs no redesign.
struct OtelSpan {
  std::array<uint8_t, 8> span_id{};
  std::optional<std::array<uint8_t, 8>> parent_span_id;
  std::string name;
  uint8_t kind = 0;          // OTLP SpanKind
  uint8_t status_code = 0;   // OTLP Status.code
  std::string status_message;
  TimestampNs end_ns = 0;
  std::vector<std::pair<std::string, AttributeValue>> attributes;

  friend bool operator==(const OtelSpan&, const OtelSpan&) = default;
};

// One event of a trace.
struct Event {
  // Identity within the trace: a Reflow EventId's 16 bytes, an operonx
  // event_id string, or an OTel span id. Writing an event whose (trace,
  // event_id) is already stored is a no-op counted as a duplicate.
  std::string event_id;
  TimestampNs timestamp_ns = 0;
  // Order among events with equal timestamps: operonx's seq; for Reflow the
  // arrival order assigned by the engine (input value ignored).
  uint64_t seq = 0;
  EventType type = EventType::kActorCreated;
  // The acting component: Reflow actor_id, operonx op_name (full; "" when
  // null), OTel span name.
  std::string actor;
  std::string to_actor;  // DataFlow only
  std::string to_port;   // DataFlow only

  // Exactly one of these is set, matching the trace's source.
  std::optional<ReflowEventData> reflow;
  std::optional<OperonxEvent> operonx;
  std::optional<OtelSpan> otel;

  friend bool operator==(const Event&, const Event&) = default;
};

struct TraceMetadata {
  std::optional<std::string> user_id;
  std::optional<std::string> session_id;
  std::string environment;
  std::string hostname;
  uint32_t process_id = 0;
  std::string thread_id;
  std::vector<std::pair<std::string, std::string>> tags;  // in arrival order

  friend bool operator==(const TraceMetadata&, const TraceMetadata&) = default;
};

// A trace: the header plus (when read back whole) its events in
// (timestamp, seq, event_id) order.
struct Trace {
  Id128 trace_id{};
  Source source = Source::kReflow;
  std::string flow_id;  // Reflow flow_id; operonx workflow_name
  Id128 execution_id{};
  FlowVersion version;
  TimestampNs start_ns = 0;
  std::optional<TimestampNs> end_ns;
  ExecutionStatus status;
  TraceMetadata metadata;
  // The source's own id when it is not a 16-byte UUID (operonx request_id).
  std::string external_id;
  // Source metadata that has no typed field (operonx `partial`, OTel resource
  // attributes), as a JSON object.
  std::string attributes_json = "{}";
  std::vector<Event> events;

  friend bool operator==(const Trace&, const Trace&) = default;
};

}  // namespace tracedb::schema
