#pragma once

// serde-exact JSON codec of the Reflow tracing protocol (reflow-protocol.md
// §3-§6): what the Rust reflow_tracing_protocol crate accepts and prints
// with serde_json, for G1 and G2 messages. docs/json.md has the details.
//
// Parsing: externally tagged enums ("Ping" or {"Ping":null}; struct variants
// are one-key objects), UUID strings, RFC 3339 timestamps (ns kept), byte
// arrays as integer arrays, absent Option fields = None, missing required
// fields rejected, unknown fields ignored (but validated as JSON), integers
// must be non-negative JSON integers, floats accept integers, duplicate
// fields rejected. Errors are Status::InvalidArgument with the byte offset
// and field path, e.g.
//   invalid type at byte 123 (RecordEvent.event.timestamp): expected RFC 3339 string
//
// Printing: compact serde_json output; Option printed as null; G2-only
// fields printed only when present (StartTrace.trace_id, request_id,
// MessageSnapshot G2 fields when has_g2_fields).
//
// All functions are thread-safe (each thread has its own cached simdjson
// parser) and never throw. Inputs are copied into a padded buffer unless
// the caller passes InputPadding::kPadded (see json_input.h). Parsed values
// own their data (no views into the input).

#include <string>
#include <string_view>

#include "common/result.h"
#include "schema/json_input.h"
#include "schema/model.h"
#include "ingest/reflow/reflow_protocol.h"

namespace tracedb::ingest::reflow {

using schema::InputPadding;
using schema::MessageSnapshot;

// ---- server side ----

// Parses one WebSocket text message as the upstream server does: as a
// TracingRequest, else as a legacy TraceMessage. When both fail the error
// is the one that got further into the input (on ties, the TracingRequest
// error); upstream's reply for any failure is
// {"Error":{"message":"Invalid message format"}}.
Result<Request> ParseRequest(std::string_view json, InputPadding padding = InputPadding::kNone);

// Appends the JSON of a reply to *out.
void AppendResponse(const Response& response, std::string* out);
void AppendTracingResponse(const TracingResponse& response, std::string* out);
void AppendTraceResponse(const TraceResponse& response, std::string* out);
std::string PrintResponse(const Response& response);

// ---- client side, tests, benchmarks ----

Result<TracingRequest> ParseTracingRequest(std::string_view json,
                                           InputPadding padding = InputPadding::kNone);
Result<TraceMessage> ParseTraceMessage(std::string_view json,
                                       InputPadding padding = InputPadding::kNone);
// A TracingResponse, else a legacy TraceResponse (as monitoring_client does).
Result<Response> ParseResponse(std::string_view json, InputPadding padding = InputPadding::kNone);
Result<TracingResponse> ParseTracingResponse(std::string_view json,
                                             InputPadding padding = InputPadding::kNone);
Result<TraceResponse> ParseTraceResponse(std::string_view json,
                                         InputPadding padding = InputPadding::kNone);

void AppendRequest(const Request& request, std::string* out);
void AppendTracingRequest(const TracingRequest& request, std::string* out);
void AppendTraceMessage(const TraceMessage& message, std::string* out);
std::string PrintRequest(const Request& request);

// ---- model objects ----

// A FlowTrace object. The result has source kReflow; events have seq 0.
Result<Trace> ParseTrace(std::string_view json, InputPadding padding = InputPadding::kNone);
// A TraceEvent object.
Result<Event> ParseEvent(std::string_view json, InputPadding padding = InputPadding::kNone);

// Prints a FlowTrace / TraceEvent. Fields Reflow has no place for
// (Trace::source, external_id, attributes_json, Event::seq) are not printed.
// Preconditions for a faithful result: event.event_id is 16 bytes (other
// lengths print zero-padded/truncated to 16) and event.type is a Reflow
// type (other types print as "NetworkEvent"); an event without `reflow`
// prints default Reflow data.
void AppendTrace(const Trace& trace, std::string* out);
// Prints a FlowVersion object.
void AppendFlowVersion(const FlowVersion& version, std::string* out);
void AppendEvent(const Event& event, std::string* out);
std::string PrintTrace(const Trace& trace);
std::string PrintEvent(const Event& event);

}  // namespace tracedb::ingest::reflow
