#pragma once

// Maps operonx 0.8 trace events onto engine writes (docs/operonx.md):
//   request_id    -> trace (id: the UUID's bytes, else xxh3-128 of the text;
//                    the text is kept as the trace's external_id)
//   workflow_name -> flow;  user_id/session_id/tags -> metadata (latest wins)
//   op_name       -> actor (full and short name indexed by the engine)
//   final batch (metadata.partial == false) -> the trace ends; its status is
//                    derived from its events (error > cancelled > completed)
// Each event's own request_id decides its trace, never the batch's.
//
// Not thread-safe: one builder per write batch being assembled.

#include <string_view>
#include <unordered_set>

#include "common/result.h"
#include "engine/engine.h"
#include "ingest/operonx/operonx_json.h"

namespace tracedb::ingest::operonx {

// The trace id of an operonx request id.
schema::Id128 OperonxTraceId(std::string_view request_id);

class OperonxBatchBuilder {
 public:
  explicit OperonxBatchBuilder(engine::WriteBatch* batch) : batch_(batch) {}

  // One NDJSON line: a TraceEvent or a batch envelope.
  Status AddLine(std::string_view line);
  // A JSON array of TraceEvents (the file exporter's final file, so its
  // requests end, with their status derived from their events). Malformed
  // input is one error for the whole array.
  Status AddArray(std::string_view body, uint64_t* events_added);

  void AddEvent(const operonx::ParsedEvent& event);
  void AddBatch(const operonx::Batch& batch);

  // Call after the engine batch was committed and cleared.
  void Reset() { started_.clear(); }

 private:
  struct IdHash {
    size_t operator()(const schema::Id128& id) const;
  };
  void EnsureStarted(const schema::Id128& id, std::string_view request_id, schema::TimestampNs start);

  engine::WriteBatch* batch_;
  std::unordered_set<schema::Id128, IdHash> started_;  // StartTrace added to batch_
};

}  // namespace tracedb::ingest::operonx
