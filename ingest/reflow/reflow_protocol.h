#pragma once

// C++ types for every message of the Reflow tracing protocol
// (docs/reference: reflow-protocol.md §4-§6), generations G1 and G2:
//   TracingRequest  (client -> server, modern)   TracingResponse (server -> client)
//   TraceMessage    (client -> server, legacy)   TraceResponse   (server -> client, legacy)
// Model objects (FlowTrace, TraceEvent, FlowVersion, ExecutionStatus, ...) are
// the schema/model.h types; the JSON codec is ingest/reflow/reflow_json.h.
//
// Representation rules:
//  - Ids are Id128 (UUID bytes); a Reflow event's EventId is Event::event_id
//    as a 16-byte string.
//  - G2-only fields that G2 fills with a random id when absent
//    (StartTrace.trace_id, request_id) are std::optional: empty = absent on
//    the wire, printed back absent (the G1 shape). The codec never invents ids.
//  - Unit variants are empty structs.
// Plain values; no thread-safety beyond that of std containers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "schema/model.h"

namespace tracedb::ingest::reflow {

// The model types the protocol carries (schema/model.h).
using schema::Event;
using schema::EventType;
using schema::ExecutionStatus;
using schema::FlowVersion;
using schema::Id128;
using schema::TimestampNs;
using schema::Trace;

// Reflow ErrorCode. Not persisted.
enum class ErrorCode : uint8_t {
  kNotFound,
  kInvalidRequest,
  kStorageError,
  kSerializationError,
  kUnauthorized,
  kInternalError,
};

// Reflow TraceEventType: a Reflow EventType (kActorCreated..kNetworkEvent);
// to_actor/to_port are meaningful only for kDataFlow.
struct TraceEventType {
  EventType type = EventType::kActorCreated;
  std::string to_actor;
  std::string to_port;

  friend bool operator==(const TraceEventType&, const TraceEventType&) = default;
};

// Reflow TraceQuery; every field optional ({"query":{}} is valid).
struct TraceQuery {
  std::optional<std::string> flow_id;
  std::optional<Id128> execution_id;
  std::optional<std::pair<TimestampNs, TimestampNs>> time_range;  // [start, end]
  std::optional<ExecutionStatus> status;
  std::optional<std::string> actor_filter;
  std::optional<uint64_t> limit;
  std::optional<uint64_t> offset;

  friend bool operator==(const TraceQuery&, const TraceQuery&) = default;
};

// Reflow SubscriptionFilters; nullopt = no filter, empty vector = match nothing.
struct SubscriptionFilters {
  std::optional<std::vector<std::string>> flow_ids;
  std::optional<std::vector<std::string>> actor_ids;
  std::optional<std::vector<TraceEventType>> event_types;
  std::optional<std::vector<ExecutionStatus>> status_filter;

  friend bool operator==(const SubscriptionFilters&, const SubscriptionFilters&) = default;
};

// ---- TracingRequest ----

struct StartTrace {
  std::optional<Id128> trace_id;  // G2: client-owned id
  std::string flow_id;
  FlowVersion version;
  friend bool operator==(const StartTrace&, const StartTrace&) = default;
};
struct RecordEvent {
  Id128 trace_id{};
  Event event;  // event.reflow is set; event.seq is 0 (not on the wire)
  friend bool operator==(const RecordEvent&, const RecordEvent&) = default;
};
struct GetTrace {
  std::optional<Id128> request_id;  // G2
  Id128 trace_id{};
  friend bool operator==(const GetTrace&, const GetTrace&) = default;
};
struct QueryTraces {
  std::optional<Id128> request_id;  // G2
  TraceQuery query;
  friend bool operator==(const QueryTraces&, const QueryTraces&) = default;
};
struct GetFlowVersions {
  std::string flow_id;
  friend bool operator==(const GetFlowVersions&, const GetFlowVersions&) = default;
};
struct Ping {
  friend bool operator==(const Ping&, const Ping&) = default;
};
struct Subscribe {
  SubscriptionFilters filters;
  friend bool operator==(const Subscribe&, const Subscribe&) = default;
};
struct Unsubscribe {
  friend bool operator==(const Unsubscribe&, const Unsubscribe&) = default;
};
struct EndTrace {  // G2
  Id128 trace_id{};
  ExecutionStatus status;
  friend bool operator==(const EndTrace&, const EndTrace&) = default;
};

using TracingRequest = std::variant<StartTrace, RecordEvent, GetTrace, QueryTraces,
                                    GetFlowVersions, Ping, Subscribe, Unsubscribe, EndTrace>;

// ---- legacy TraceMessage (its QueryTraces/GetTrace reuse the types above;
// request_id stays empty there) ----

struct StoreTrace {
  Trace trace;
  friend bool operator==(const StoreTrace&, const StoreTrace&) = default;
};
struct LegacySubscribe {  // {"Subscribe":{"filter":...}}
  SubscriptionFilters filter;
  friend bool operator==(const LegacySubscribe&, const LegacySubscribe&) = default;
};
struct GetMetrics {
  friend bool operator==(const GetMetrics&, const GetMetrics&) = default;
};

using TraceMessage = std::variant<StoreTrace, QueryTraces, GetTrace, LegacySubscribe, GetMetrics>;

// What the server receives: the modern request, or the legacy one when the
// message is not a TracingRequest (reflow-protocol.md §2 dispatch rule).
using Request = std::variant<TracingRequest, TraceMessage>;

// ---- TracingResponse ----

struct TraceStarted {
  Id128 trace_id{};
  friend bool operator==(const TraceStarted&, const TraceStarted&) = default;
};
struct EventRecorded {
  bool success = true;
  std::optional<std::string> error;
  friend bool operator==(const EventRecorded&, const EventRecorded&) = default;
};
struct TraceData {
  std::optional<Id128> request_id;  // G2: echoed when the request had one
  std::optional<Trace> trace;       // null when not found
  friend bool operator==(const TraceData&, const TraceData&) = default;
};
struct QueryResults {
  std::optional<Id128> request_id;  // G2
  std::vector<Trace> traces;
  uint64_t total_count = 0;
  friend bool operator==(const QueryResults&, const QueryResults&) = default;
};
struct FlowVersions {
  std::vector<FlowVersion> versions;
  friend bool operator==(const FlowVersions&, const FlowVersions&) = default;
};
struct Pong {
  friend bool operator==(const Pong&, const Pong&) = default;
};
struct EventNotification {
  Id128 trace_id{};
  Event event;
  friend bool operator==(const EventNotification&, const EventNotification&) = default;
};
// {"Error":{"message":..,"code":..}}. Without a code it prints as
// {"Error":{"message":..}}, the shape of upstream's "Invalid message format"
// and legacy-path errors; such a message parses back as the legacy
// TraceResponse LegacyError (a G1 TracingResponse requires `code`).
struct Error {
  std::string message;
  std::optional<ErrorCode> code;
  friend bool operator==(const Error&, const Error&) = default;
};

using TracingResponse = std::variant<TraceStarted, EventRecorded, TraceData, QueryResults,
                                     FlowVersions, Pong, EventNotification, Error>;

// ---- legacy TraceResponse ----

struct TraceStored {
  Id128 trace_id{};
  friend bool operator==(const TraceStored&, const TraceStored&) = default;
};
struct TracesFound {
  std::vector<Trace> traces;
  friend bool operator==(const TracesFound&, const TracesFound&) = default;
};
struct LegacyTraceData {  // {"TraceData":{"trace":T}}, trace required
  Trace trace;
  friend bool operator==(const LegacyTraceData&, const LegacyTraceData&) = default;
};
struct LegacyError {  // {"Error":{"message":..}}
  std::string message;
  friend bool operator==(const LegacyError&, const LegacyError&) = default;
};
struct Metrics {
  std::string data_json = "{}";  // any JSON value, as text (e.g. the 7 counters)
  friend bool operator==(const Metrics&, const Metrics&) = default;
};

using TraceResponse = std::variant<TraceStored, TracesFound, LegacyTraceData, LegacyError, Metrics>;

// Any server reply, as a client decodes it (TracingResponse first).
using Response = std::variant<TracingResponse, TraceResponse>;

// The wire name of an ErrorCode ("NotFound", ...).
std::string_view ErrorCodeName(ErrorCode code);

}  // namespace tracedb::ingest::reflow
