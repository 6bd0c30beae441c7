#include "client/cpp/codec.h"

#include <random>

#include "ingest/reflow/reflow_json.h"
#include "schema/uuid.h"

namespace tracedb::client {

namespace reflow = ingest::reflow;

namespace {

schema::Id128 ToId(const Uuid& u) { return u.bytes; }

schema::ExecutionStatus ToStatus(const ExecutionStatus& s) {
  schema::ExecutionStatus out;
  switch (s.code) {
    case ExecutionStatus::Code::kPending: out.code = schema::StatusCode::kPending; break;
    case ExecutionStatus::Code::kRunning: out.code = schema::StatusCode::kRunning; break;
    case ExecutionStatus::Code::kCompleted: out.code = schema::StatusCode::kCompleted; break;
    case ExecutionStatus::Code::kFailed: out.code = schema::StatusCode::kFailed; break;
    case ExecutionStatus::Code::kCancelled: out.code = schema::StatusCode::kCancelled; break;
  }
  if (s.code == ExecutionStatus::Code::kFailed) out.error = s.error;
  return out;
}

schema::Event ToEvent(const Event& e) {
  schema::Event out;
  out.event_id.assign(reinterpret_cast<const char*>(e.event_id.bytes.data()), 16);
  out.timestamp_ns = e.timestamp_ns;
  out.type = static_cast<schema::EventType>(e.type);  // same values (client.h mirrors schema/model.h)
  out.actor = e.actor_id;
  if (e.type == EventType::kDataFlow) {
    out.to_actor = e.to_actor;
    out.to_port = e.to_port;
  }
  schema::ReflowEventData& d = out.reflow.emplace();
  d.port = e.port;
  if (e.message) {
    schema::MessageSnapshot& m = d.message.emplace();
    m.message_type = e.message->message_type;
    m.size_bytes = e.message->size_bytes;
    m.checksum = e.message->checksum;
  }
  d.error = e.error;
  d.metrics.execution_time_ns = e.metrics.execution_time_ns;
  d.metrics.memory_usage_bytes = e.metrics.memory_usage_bytes;
  d.metrics.cpu_usage_percent = e.metrics.cpu_usage_percent;
  d.metrics.queue_depth = e.metrics.queue_depth;
  d.metrics.throughput_msgs_per_sec = e.metrics.throughput_msgs_per_sec;
  d.custom_attributes_json = e.custom_attributes_json.empty() ? "{}" : e.custom_attributes_json;
  if (e.parent_event_id) d.causality.parent_event_id = ToId(*e.parent_event_id);
  d.causality.root_cause_event_id = ToId(e.root_cause_event_id.IsNil() ? e.event_id : e.root_cause_event_id);
  for (const Uuid& u : e.dependency_chain) d.causality.dependency_chain.push_back(ToId(u));
  d.causality.span_id = e.span_id.empty() ? e.event_id.ToString() : e.span_id;
  return out;
}

reflow::TraceEventType ToWireType(EventType t) {
  reflow::TraceEventType out;
  out.type = static_cast<schema::EventType>(t);
  return out;
}

}  // namespace

// ---- Uuid ----

Uuid Uuid::Random() {
  // splitmix64 seeded once per thread from the OS: fast, and distinct
  // threads and processes get distinct streams.
  thread_local uint64_t state = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd() ^ reinterpret_cast<uintptr_t>(&state);
  }();
  auto next = [] {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  Uuid u;
  uint64_t a = next(), b = next();
  for (int i = 0; i < 8; ++i) {
    u.bytes[i] = static_cast<uint8_t>(a >> (8 * i));
    u.bytes[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  u.bytes[6] = (u.bytes[6] & 0x0f) | 0x40;  // version 4
  u.bytes[8] = (u.bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return u;
}

bool Uuid::Parse(std::string_view text, Uuid* out) { return schema::ParseUuid(text, &out->bytes); }

std::string Uuid::ToString() const { return schema::FormatUuid(bytes); }

bool Uuid::IsNil() const {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

// ---- request builders ----

std::string SubscribeJson(const SubscriptionFilters& filters) {
  reflow::Subscribe s;
  s.filters.flow_ids = filters.flow_ids;
  s.filters.actor_ids = filters.actor_ids;
  if (filters.event_types) {
    auto& v = s.filters.event_types.emplace();
    for (EventType t : *filters.event_types) v.push_back(ToWireType(t));
  }
  if (filters.status_filter) {
    auto& v = s.filters.status_filter.emplace();
    for (const ExecutionStatus& st : *filters.status_filter) v.push_back(ToStatus(st));
  }
  return reflow::PrintRequest(reflow::TracingRequest{std::move(s)});
}

std::string QueryTracesJson(const TraceQuery& query) {
  reflow::QueryTraces q;
  q.query.flow_id = query.flow_id;
  if (query.status) q.query.status = ToStatus(*query.status);
  q.query.actor_filter = query.actor_filter;
  q.query.time_range = query.time_range_ns;
  q.query.limit = query.limit;
  q.query.offset = query.offset;
  return reflow::PrintRequest(reflow::TracingRequest{std::move(q)});
}

std::string GetTraceJson(const TraceId& trace) {
  reflow::GetTrace g;
  g.trace_id = ToId(trace);
  return reflow::PrintRequest(reflow::TracingRequest{g});
}

namespace {
constexpr std::string_view kTypeNames[] = {
    "ActorCreated",    "ActorStarted",  "ActorCompleted", "ActorFailed",      "MessageSent", "MessageReceived",
    "StateChanged",    "PortConnected", "PortDisconnected", "DataFlow",       "NetworkEvent"};
}  // namespace

std::string_view EventTypeName(EventType type) {
  size_t i = static_cast<size_t>(type) - 1;
  return i < std::size(kTypeNames) ? kTypeNames[i] : "NetworkEvent";
}

bool ParseEventType(std::string_view name, EventType* out) {
  for (size_t i = 0; i < std::size(kTypeNames); ++i) {
    if (kTypeNames[i] == name) {
      *out = static_cast<EventType>(i + 1);
      return true;
    }
  }
  return false;
}

namespace internal {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RequestKind KindOf(const RawRequest& request) { return static_cast<RequestKind>(request.body.index()); }

std::string Encode(const RawRequest& request) {
  struct Visitor {
    reflow::TracingRequest operator()(const StartTraceRequest& r) const {
      reflow::StartTrace s;
      s.trace_id = ToId(r.trace_id);
      s.flow_id = r.flow_id;
      s.version.major = r.major;
      s.version.minor = r.minor;
      s.version.patch = r.patch;
      s.version.timestamp_ns = r.timestamp_ns;
      return s;
    }
    reflow::TracingRequest operator()(const RecordEventRequest& r) const {
      return reflow::RecordEvent{ToId(r.trace_id), ToEvent(r.event)};
    }
    reflow::TracingRequest operator()(const EndTraceRequest& r) const {
      return reflow::EndTrace{ToId(r.trace_id), ToStatus(r.status)};
    }
  };
  std::string out;
  reflow::AppendTracingRequest(std::visit(Visitor{}, request.body), &out);
  return out;
}

ReplyKind ClassifyReply(std::string_view json) {
  // The common replies, without a parse.
  static constexpr std::string_view kOk = R"({"EventRecorded":{"success":true,"error":null}})";
  if (json == kOk) return ReplyKind::kAck;
  if (json.starts_with(R"({"TraceStarted":)")) return ReplyKind::kAck;
  if (json.starts_with(R"({"EventNotification":)")) return ReplyKind::kNotification;
  auto parsed = reflow::ParseResponse(json);
  if (!parsed.ok()) return ReplyKind::kUnknown;
  if (const auto* modern = std::get_if<reflow::TracingResponse>(&*parsed)) {
    if (const auto* rec = std::get_if<reflow::EventRecorded>(modern)) {
      return rec->success ? ReplyKind::kAck : ReplyKind::kRetry;  // success:false = a storage error
    }
    if (std::holds_alternative<reflow::TraceStarted>(*modern)) return ReplyKind::kAck;
    if (std::holds_alternative<reflow::Pong>(*modern)) return ReplyKind::kPong;
    if (std::holds_alternative<reflow::EventNotification>(*modern)) return ReplyKind::kNotification;
    if (const auto* err = std::get_if<reflow::Error>(modern)) {
      if (err->code == reflow::ErrorCode::kStorageError || err->code == reflow::ErrorCode::kInternalError) {
        return ReplyKind::kRetry;
      }
      return ReplyKind::kRejected;
    }
    return ReplyKind::kUnknown;
  }
  // Legacy {"Error":{"message":..}}: "Invalid message format" and the like.
  if (std::holds_alternative<reflow::LegacyError>(std::get<reflow::TraceResponse>(*parsed))) {
    return ReplyKind::kRejected;
  }
  return ReplyKind::kUnknown;
}

}  // namespace internal
}  // namespace tracedb::client
