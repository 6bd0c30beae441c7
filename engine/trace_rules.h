#pragma once

// Header rules every storage backend applies the same way (the RocksDB
// write path, engine/write_path.cc, and the ClickHouse one,
// clickhouse/ch_write.cc): how an event's status counts toward its trace,
// and the status a trace ends with under StatusRule::kFromEvents.

#include <string>

#include "schema/model.h"
#include "schema/record_codec.h"

namespace tracedb::engine {

// Counts a new event's hot status into `bk` (cancelled and error events; the
// first error's text as "<actor>: <detail>").
inline void CountEventStatus(schema::TraceBookkeeping* bk, const schema::Event& event,
                             schema::EventStatusCode status) {
  if (status == schema::EventStatusCode::kCancelled) ++bk->cancelled_events;
  if (status != schema::EventStatusCode::kError) return;
  if (bk->error_events++ > 0) return;
  std::string detail = "error";
  if (event.reflow && event.reflow->error) detail = *event.reflow->error;
  if (event.otel && !event.otel->status_message.empty()) detail = event.otel->status_message;
  bk->first_error = event.actor.empty() ? detail : event.actor + ": " + detail;
}

// The final status under StatusRule::kFromEvents: Failed with the first
// error when an event failed, else Cancelled when one was, else Completed.
inline schema::ExecutionStatus StatusFromEvents(const schema::TraceBookkeeping& bk) {
  if (bk.error_events > 0) return {schema::StatusCode::kFailed, bk.first_error};
  if (bk.cancelled_events > 0) return {schema::StatusCode::kCancelled, ""};
  return {schema::StatusCode::kCompleted, ""};
}

}  // namespace tracedb::engine
