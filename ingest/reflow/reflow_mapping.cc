#include "ingest/reflow/reflow_mapping.h"

#include <unistd.h>

#include <random>
#include <variant>

namespace tracedb::ingest::reflow {

schema::Id128 RandomUuidV4() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  schema::Id128 id;
  uint64_t a = rng(), b = rng();
  for (int i = 0; i < 8; ++i) {
    id[static_cast<size_t>(i)] = static_cast<uint8_t>(a >> (8 * i));
    id[static_cast<size_t>(8 + i)] = static_cast<uint8_t>(b >> (8 * i));
  }
  id[6] = static_cast<uint8_t>((id[6] & 0x0f) | 0x40);  // version 4
  id[8] = static_cast<uint8_t>((id[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return id;
}

schema::Trace ReflowStartHeader(const StartTrace& start, const schema::Id128& id, schema::TimestampNs now) {
  schema::Trace h;
  h.trace_id = id;
  h.source = schema::Source::kReflow;
  h.flow_id = start.flow_id;
  h.execution_id = RandomUuidV4();
  h.version = start.version;
  h.start_ns = now;
  h.status.code = schema::StatusCode::kRunning;
  h.metadata.environment = "unknown";
  h.metadata.hostname = "unknown";
  h.metadata.process_id = static_cast<uint32_t>(::getpid());
  h.metadata.thread_id = "unknown";
  return h;
}

namespace {

// The request is the caller's to give up: events and traces move into the
// batch instead of being copied.
struct TracingVisitor {
  schema::TimestampNs now;
  engine::WriteBatch* batch;
  schema::Id128* trace_id;

  Status operator()(StartTrace& s) const {
    schema::Id128 id = s.trace_id ? *s.trace_id : RandomUuidV4();
    if (trace_id != nullptr) *trace_id = id;
    batch->StartTrace(ReflowStartHeader(s, id, now));
    return Status::OK();
  }
  Status operator()(RecordEvent& r) const {
    if (trace_id != nullptr) *trace_id = r.trace_id;
    batch->AppendEvent(r.trace_id, std::move(r.event));
    return Status::OK();
  }
  Status operator()(EndTrace& e) const {
    if (trace_id != nullptr) *trace_id = e.trace_id;
    batch->EndTrace(e.trace_id, e.status, now);
    return Status::OK();
  }
  template <typename T>
  Status operator()(T&) const {
    return Status::InvalidArgument("not an ingest request (expected StartTrace, RecordEvent, EndTrace or StoreTrace)");
  }
};

struct LegacyVisitor {
  engine::WriteBatch* batch;
  schema::Id128* trace_id;

  Status operator()(StoreTrace& s) const {
    if (trace_id != nullptr) *trace_id = s.trace.trace_id;
    batch->StoreTrace(std::move(s.trace));
    return Status::OK();
  }
  template <typename T>
  Status operator()(T&) const {
    return Status::InvalidArgument("not an ingest request (expected StartTrace, RecordEvent, EndTrace or StoreTrace)");
  }
};

}  // namespace

Status AddReflowRequest(Request&& request, schema::TimestampNs now, engine::WriteBatch* batch,
                        schema::Id128* trace_id) {
  if (auto* tracing = std::get_if<TracingRequest>(&request)) {
    return std::visit(TracingVisitor{now, batch, trace_id}, *tracing);
  }
  return std::visit(LegacyVisitor{batch, trace_id}, std::get<TraceMessage>(request));
}

Status AddReflowRequest(const Request& request, schema::TimestampNs now, engine::WriteBatch* batch,
                        schema::Id128* trace_id) {
  return AddReflowRequest(Request(request), now, batch, trace_id);
}

}  // namespace tracedb::ingest::reflow
