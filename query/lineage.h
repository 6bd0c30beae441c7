#pragma once

// Causality views over Reflow events (issue 14 items 3 and 4):
//
//   lineage        the events that carried one message across actors: every
//                  event whose custom_attributes.message_id is the id, plus
//                  the causal ancestors of each (followed through
//                  causality.parent_event_id inside its trace), in causal
//                  then time order, each with the latency from the hop
//                  before it (its parent when known, else the previous hop);
//   causality      one event's chain of parents up to its root cause;
//   critical path  the longest causally linked chain of a trace by time: the
//                  parent chain (Reflow parent_event_id, OTel parent span)
//                  whose last event ends latest after its first one starts.
//
// Event ids print as UUIDs (Reflow), 16 hex digits (OTel spans) or as sent
// (operonx). Thread-safety: pure functions, or safe when the engine is.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"

namespace tracedb::query {

struct LineageOptions {
  std::optional<schema::TimestampNs> start_ns;  // trace start window
  std::optional<schema::TimestampNs> end_ns;
  // Traces read at most. Default: 1000.
  size_t max_traces = 1000;
};

// {"message_id","traces":N,"hops":[{"trace_id","event_id","timestamp",
//  "timestamp_ns","actor","type","port","to_actor","to_port",
//  "message_type","parent_event_id","matched","latency_ns"}]}
// Finds the traces with `attr.message_id = "<id>"` through the query
// language; an id nobody carried is an empty list, not an error.
Result<std::string> LineageJson(engine::Engine* engine, std::string_view message_id, const LineageOptions& options);

// {"trace_id","event_id","root_cause_event_id","chain":[event…]}: the event
// then its parent, grandparent… (cycles and missing parents end the chain).
// NotFound when the trace has no such event.
Result<std::string> CausalityJson(const schema::Trace& trace, std::string_view event_id);

// {"trace_id","duration_ns","events":[event…]} from the chain's first event
// to its last; empty events for a trace without causal links.
std::string CriticalPathJson(const schema::Trace& trace);

// The printed id of an event (see above).
std::string EventIdString(const schema::Trace& trace, const schema::Event& event);

}  // namespace tracedb::query
