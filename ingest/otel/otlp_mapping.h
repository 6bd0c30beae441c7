#pragma once

// The mapping of an OTLP ExportTraceServiceRequest (otlp.h) onto the model
// (schema/model.h) and the engine's write input (engine::WriteBatch).
// docs/data-model.md ("OpenTelemetry") lists it field by field.
//
//   span      -> one Event of the trace with the span's trace id: source otel,
//                type kSpan, event_id = the 8 span-id bytes (a retried
//                export is a duplicate the engine drops), timestamp = start,
//                actor = span name, otel = every other field, with the
//                span's resource and scope (shared by the spans of one
//                ResourceSpans / ScopeSpans).
//   trace     -> one WriteBatch::MergeTrace per trace id and request, before
//                its spans: flow_id = the naming span's resource
//                `service.name` ("unknown_service" when absent), name = the
//                naming span's name, start = min span start, end = max span
//                end, status Failed ("<span name>: <status message>") when
//                a span has status code 2, else Completed. The naming span
//                is the root (no parent id), role kRoot; without one in the
//                request, the earliest span, role kPartial. The engine
//                merges the pieces of a trace across requests (min start,
//                max end, any failure; a root names the trace).
//   services  -> every span's service is a flow-index value of its trace.
//
// Invalid spans are refused one by one and counted in the PartialSuccess;
// the others are mapped: a trace id that is not 16 bytes or is all zero, a
// span id that is not 8 bytes or is all zero, a parent span id neither empty
// nor 8 bytes, an end before the start, a time beyond 2262 (int64 ns), a kind
// or status code outside 0..255, or an attribute value nested deeper than
// schema::kMaxAttributeDepth.
//
// Thread-safety: the functions are pure; concurrent calls on distinct
// arguments are safe.

#include <cstdint>
#include <string>

#include "engine/engine.h"
#include "ingest/otel/otlp.h"
#include "schema/hot_fields.h"
#include "schema/model.h"

namespace tracedb::ingest::otel {

// At most this many refusal reasons are named in error_message.
inline constexpr size_t kMaxReasons = 3;

struct MapResult {
  uint64_t accepted_spans = 0;
  // rejected_spans and "<count> of <total> spans rejected: <first reasons>";
  // empty() when every span was accepted.
  PartialSuccess partial_success;
};

// Appends the valid spans of `request` to `batch` (MergeTrace for each trace,
// then AppendEvent for each of its spans, traces in order of first
// appearance). The request is consumed (strings and attributes are moved).
MapResult AppendExportRequest(ExportTraceServiceRequest request, engine::WriteBatch* batch);

// The model value of an OTLP AnyValue. Fails (returns false) when it nests
// arrays / key-value lists deeper than schema::kMaxAttributeDepth.
bool ToAttributeValue(AnyValue value, schema::AttributeValue* out);

// The service of a resource: schema::OtelServiceName (`service.name`, else
// schema::kUnknownService).
std::string ServiceName(const schema::OtelResource& resource);

}  // namespace tracedb::ingest::otel
