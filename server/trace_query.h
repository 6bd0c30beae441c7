#pragma once

// Reflow QueryTraces, through the query layer (query::RunTraceQuery, the
// same planner and executor as the query language) with the corrected
// semantics of reflow-protocol.md §8: exact flow_id / execution_id, status
// equality (Failed's error included), inclusive nanosecond time_range on the
// trace start, actor_filter = substring of any event actor, start_time
// descending, offset and limit independent, total_count = all matches.
// The page's traces are then read whole (with events).
//
// Blocking (RocksDB reads): call from a read thread, never an I/O thread.

#include "common/result.h"
#include "engine/engine.h"
#include "ingest/reflow/reflow_protocol.h"

namespace tracedb::server {

struct TraceQueryResult {
  std::vector<schema::Trace> traces;
  uint64_t total_count = 0;
};

// Runs `query` against `engine`. Errors: InvalidArgument (actor_filter
// matches too many actors), storage errors as returned by the engine.
Result<TraceQueryResult> RunTraceQuery(engine::Engine* engine, const ingest::reflow::TraceQuery& query);

}  // namespace tracedb::server
