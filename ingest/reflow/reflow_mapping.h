#pragma once

// Maps Reflow ingest requests onto engine writes: the one place that says
// what a StartTrace, RecordEvent, EndTrace or StoreTrace stores, shared by
// the WebSocket path (server/service.cc) and the bulk path
// (ingest/pipeline/bulk_ingest.cc), so both store the same thing.
//
// Thread-safety: the functions are thread-safe.

#include "common/status.h"
#include "engine/engine.h"
#include "ingest/reflow/reflow_protocol.h"
#include "schema/model.h"

namespace tracedb::ingest::reflow {

// Adds the engine operations of one Reflow ingest request to `batch`:
// StartTrace, RecordEvent, EndTrace (TracingRequest) and StoreTrace (legacy).
// Any other request is InvalidArgument ("not an ingest request"). A
// StartTrace without trace_id gets a random v4 id, returned in *trace_id.
// Shared by the WebSocket and the bulk paths, so both store the same thing.
Status AddReflowRequest(const Request& request, schema::TimestampNs now,
                        engine::WriteBatch* batch, schema::Id128* trace_id = nullptr);
// The same, moving the request's events and traces into `batch` (no copy).
Status AddReflowRequest(Request&& request, schema::TimestampNs now, engine::WriteBatch* batch,
                        schema::Id128* trace_id = nullptr);

// A random RFC 4122 version-4 id.
schema::Id128 RandomUuidV4();

// The trace header a Reflow StartTrace creates (G2 semantics: server time,
// a fresh execution id, placeholder metadata because the protocol carries
// none: environment and hostname "unknown", this process's pid). Shared by
// the WebSocket and the bulk paths.
schema::Trace ReflowStartHeader(const StartTrace& start, const schema::Id128& trace_id,
                                schema::TimestampNs now);

}  // namespace tracedb::ingest::reflow
