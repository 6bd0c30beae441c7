#include "ingest/operonx/operonx_mapping.h"

#include <xxhash.h>

#include <cstring>

#include "schema/json_writer.h"
#include "schema/uuid.h"

namespace tracedb::ingest::operonx {


schema::Id128 OperonxTraceId(std::string_view request_id) {
  schema::Id128 id;
  if (schema::ParseUuid(request_id, &id)) return id;
  XXH128_hash_t h = XXH3_128bits(request_id.data(), request_id.size());
  XXH128_canonical_t canon;
  XXH128_canonicalFromHash(&canon, h);
  std::memcpy(id.data(), canon.digest, 16);
  return id;
}

size_t OperonxBatchBuilder::IdHash::operator()(const schema::Id128& id) const {
  uint64_t v;
  std::memcpy(&v, id.data(), 8);
  return v;
}

namespace {

schema::Trace BaseHeader(const schema::Id128& id, std::string_view request_id, schema::TimestampNs start) {
  schema::Trace h;
  h.trace_id = id;
  h.source = schema::Source::kOperonx;
  h.flow_id = "unknown";
  h.execution_id = id;
  h.external_id = std::string(request_id);
  h.start_ns = start;
  h.version.timestamp_ns = start;
  h.status.code = schema::StatusCode::kRunning;
  return h;
}

}  // namespace

void OperonxBatchBuilder::EnsureStarted(const schema::Id128& id, std::string_view request_id,
                                        schema::TimestampNs start) {
  if (!started_.insert(id).second) return;
  batch_->StartTrace(BaseHeader(id, request_id, start), engine::StartMode::kCreateOnly);
}

void OperonxBatchBuilder::AddEvent(const operonx::ParsedEvent& e) {
  schema::Id128 id = OperonxTraceId(e.request_id);
  EnsureStarted(id, e.request_id, e.event.timestamp_ns);
  batch_->AppendEvent(id, e.event);
}

void OperonxBatchBuilder::AddBatch(const operonx::Batch& b) {
  schema::Id128 id = OperonxTraceId(b.request_id);
  schema::TimestampNs start = b.events.empty() ? 0 : b.events.front().event.timestamp_ns;
  for (const auto& e : b.events) start = std::min(start, e.event.timestamp_ns);
  if (b.metadata.workflow_name) {
    // Per-request metadata: every flush repeats it, the latest wins.
    schema::Trace h = BaseHeader(id, b.request_id, start);
    h.flow_id = *b.metadata.workflow_name;
    h.metadata.user_id = b.metadata.user_id;
    h.metadata.session_id = b.metadata.session_id;
    for (const auto& tag : b.metadata.tags) h.metadata.tags.emplace_back(tag, "");
    std::string attrs;
    schema::JsonWriter w(&attrs);
    w.BeginObject();
    w.PlainKey("partial");
    w.Bool(b.metadata.partial);
    w.EndObject();
    h.attributes_json = std::move(attrs);
    batch_->StartTrace(std::move(h), engine::StartMode::kUpsertHeader);
    started_.insert(id);
  } else {
    EnsureStarted(id, b.request_id, start);
  }
  for (const auto& e : b.events) AddEvent(e);
  if (!b.metadata.partial) {
    batch_->EndTrace(id, {}, 0, engine::EndReason::kEnded, engine::StatusRule::kFromEvents);
  }
}

Status OperonxBatchBuilder::AddLine(std::string_view line) {
  // An envelope has "events"; a TraceEvent has "kind". Try the event first:
  // it is the common NDJSON line.
  Result<operonx::ParsedEvent> event = operonx::ParseEvent(line);
  if (event.ok()) {
    AddEvent(*event);
    return Status::OK();
  }
  if (line.find("\"events\"") != std::string_view::npos) {
    Result<operonx::Batch> batch = operonx::ParseBatch(line);
    if (!batch.ok()) return batch.status();
    AddBatch(*batch);
    return Status::OK();
  }
  return event.status();
}

Status OperonxBatchBuilder::AddArray(std::string_view body, uint64_t* events_added) {
  Result<std::vector<operonx::ParsedEvent>> events = operonx::ParseEventArray(body);
  if (!events.ok()) return events.status();
  for (const auto& e : *events) AddEvent(e);
  // JsonFileExporter writes the array form only at the final flush, so the
  // requests in it are complete.
  std::unordered_set<schema::Id128, IdHash> ended;
  for (const auto& e : *events) {
    schema::Id128 id = OperonxTraceId(e.request_id);
    if (ended.insert(id).second) {
      batch_->EndTrace(id, {}, 0, engine::EndReason::kEnded, engine::StatusRule::kFromEvents);
    }
  }
  *events_added = events->size();
  return Status::OK();
}

}  // namespace tracedb::ingest::operonx
