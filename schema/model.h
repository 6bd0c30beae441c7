#pragma once

// tracedb's one data model for traces and events, whatever their source.
//
// A Trace is one unit of work: a Reflow FlowTrace (one flow execution), an
// operonx request (all TraceEvents of one request_id), or an OpenTelemetry
// trace (every span with one trace id, from any number of services). An Event is one thing that happened inside it. The
// mapping of each source onto these types is in docs/data-model.md.
//
// The model holds every field of every source without loss: optional fields
// stay optional (absent is distinct from zero), timestamps are nanoseconds,
// byte arrays are bytes, free-form JSON (Reflow custom_attributes, operonx
// payloads) is kept as its JSON text, and OTel attributes keep their types. Fields that only one protocol
// generation writes carry a presence flag so that the record prints back in
// the shape it arrived in.
//
// These are plain values: no invariants beyond those stated per field, no
// thread-safety beyond that of std containers.

#include <array>
#include <bit>
#include <cstdint>
#include <memory>
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

// An attribute value of an OpenTelemetry span, resource, scope, span event
// or link (OTLP AnyValue), typed all the way down: an array keeps the type of
// each element, a key-value list keeps each value's type, so nested values
// round-trip exactly.
struct AttributeValue {
  // Persisted in OtelData attributes: do not renumber.
  enum class Kind : uint8_t {
    kString = 0,
    kBool = 1,    // i is 0 or 1
    kInt = 2,
    kDouble = 3,
    kBytes = 4,   // str holds the raw bytes
    kJson = 5,    // str holds JSON text; never written by OTLP ingest (reserved by the first schema)
    kArray = 6,   // array
    kKvList = 7,  // kvlist (keys may repeat; order is kept)
    kEmpty = 8,   // an AnyValue with no value set
  };
  // The special members are defined below the class: the members hold
  // std::pair<std::string, AttributeValue>, which must not be instantiated
  // while AttributeValue is incomplete (clang refuses it; GCC lets it pass).
  AttributeValue();
  AttributeValue(const AttributeValue&);
  AttributeValue(AttributeValue&&) noexcept;
  AttributeValue& operator=(const AttributeValue&);
  AttributeValue& operator=(AttributeValue&&) noexcept;
  ~AttributeValue();

  Kind kind = Kind::kString;
  std::string str;  // kString, kBytes, kJson
  int64_t i = 0;    // kInt, kBool
  double d = 0;     // kDouble
  std::vector<AttributeValue> array;                            // kArray
  std::vector<std::pair<std::string, AttributeValue>> kvlist;  // kKvList

  // Doubles compare by bit pattern, so NaN payloads and -0.0 round-trip
  // checks are exact.
  friend bool operator==(const AttributeValue& a, const AttributeValue& b);
};

inline AttributeValue::AttributeValue() = default;
inline AttributeValue::AttributeValue(const AttributeValue&) = default;
inline AttributeValue::AttributeValue(AttributeValue&&) noexcept = default;
inline AttributeValue& AttributeValue::operator=(const AttributeValue&) = default;
inline AttributeValue& AttributeValue::operator=(AttributeValue&&) noexcept = default;
inline AttributeValue::~AttributeValue() = default;

// Key-value pairs in arrival order (keys may repeat, as OTLP allows).
using Attributes = std::vector<std::pair<std::string, AttributeValue>>;

// An 8-byte OpenTelemetry span id.
using SpanId = std::array<uint8_t, 8>;

// The OTLP Resource a span came from, with its ResourceSpans.schema_url. Many
// spans share one (see OtelSpan::resource).
struct OtelResource {
  Attributes attributes;  // "service.name" names the service
  uint32_t dropped_attributes_count = 0;
  std::string schema_url;

  friend bool operator==(const OtelResource&, const OtelResource&) = default;
};

// The OTLP InstrumentationScope of a span, with its ScopeSpans.schema_url.
struct OtelScope {
  std::string name;
  std::string version;
  Attributes attributes;
  uint32_t dropped_attributes_count = 0;
  std::string schema_url;

  friend bool operator==(const OtelScope&, const OtelScope&) = default;
};

// Span.Event: something that happened at an instant during the span.
struct OtelSpanEvent {
  TimestampNs time_ns = 0;
  std::string name;
  Attributes attributes;
  uint32_t dropped_attributes_count = 0;

  friend bool operator==(const OtelSpanEvent&, const OtelSpanEvent&) = default;
};

// Span.Link: a reference to another span. The ids are kept as received (16
// and 8 bytes when the sender followed the specification).
struct OtelLink {
  std::string trace_id;
  std::string span_id;
  std::string trace_state;
  Attributes attributes;
  uint32_t dropped_attributes_count = 0;
  uint32_t flags = 0;

  friend bool operator==(const OtelLink&, const OtelLink&) = default;
};

// The OpenTelemetry-specific part of an event: one span, every OTLP field.
// The trace id is the trace's; the start time is Event::timestamp_ns; the
// name is also Event::actor; the span id is also Event::event_id.
struct OtelSpan {
  SpanId span_id{};
  std::optional<SpanId> parent_span_id;  // nullopt on a root span
  std::string name;
  uint8_t kind = 0;          // OTLP SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer
  uint8_t status_code = 0;   // OTLP Status.code: 0 unset, 1 ok, 2 error
  std::string status_message;
  TimestampNs end_ns = 0;
  Attributes attributes;
  std::string trace_state;   // W3C tracestate
  uint32_t flags = 0;        // W3C trace flags in bits 0-7; 0x100 / 0x200 is_remote
  uint32_t dropped_attributes_count = 0;
  std::vector<OtelSpanEvent> events;
  uint32_t dropped_events_count = 0;
  std::vector<OtelLink> links;
  uint32_t dropped_links_count = 0;
  // Shared, immutable: every span of one ResourceSpans / ScopeSpans points at
  // the same value. nullptr reads as an empty resource / scope.
  std::shared_ptr<const OtelResource> resource;
  std::shared_ptr<const OtelScope> scope;

  // Compares resource and scope by value (nullptr == empty).
  friend bool operator==(const OtelSpan& a, const OtelSpan& b);
};

inline bool operator==(const AttributeValue& a, const AttributeValue& b) {
  return a.kind == b.kind && a.str == b.str && a.i == b.i && std::bit_cast<uint64_t>(a.d) == std::bit_cast<uint64_t>(b.d) &&
         a.array == b.array && a.kvlist == b.kvlist;
}

namespace internal {
template <typename T>
bool SharedValueEqual(const std::shared_ptr<const T>& a, const std::shared_ptr<const T>& b) {
  if (a == b) return true;
  static const T kEmpty{};
  return (a ? *a : kEmpty) == (b ? *b : kEmpty);
}
}  // namespace internal

inline bool operator==(const OtelSpan& a, const OtelSpan& b) {
  return a.span_id == b.span_id && a.parent_span_id == b.parent_span_id && a.name == b.name && a.kind == b.kind &&
         a.status_code == b.status_code && a.status_message == b.status_message && a.end_ns == b.end_ns &&
         a.attributes == b.attributes && a.trace_state == b.trace_state && a.flags == b.flags &&
         a.dropped_attributes_count == b.dropped_attributes_count && a.events == b.events &&
         a.dropped_events_count == b.dropped_events_count && a.links == b.links &&
         a.dropped_links_count == b.dropped_links_count && internal::SharedValueEqual(a.resource, b.resource) &&
         internal::SharedValueEqual(a.scope, b.scope);
}

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
  std::string flow_id;  // Reflow flow_id; operonx workflow_name; OTel root service
  // The trace's own name where the source has one: the OTel root span's name
  // (or, until the root arrives, the earliest span's). "" elsewhere.
  std::string name;
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
