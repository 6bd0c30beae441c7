#pragma once

// The OTLP trace messages tracedb reads, as plain values: one struct per
// protobuf message of ExportTraceServiceRequest
// (opentelemetry/proto/collector/trace/v1), with the specification's field
// numbers beside each field. Both decoders (binary protobuf in otlp_proto.h,
// OTLP/JSON in otlp_json.h) produce exactly these values, so that the mapping
// to the model (otlp_mapping.h) is written once.
//
// What a decoder guarantees: wire-level well-formedness only. Ids keep the
// length they arrived with (a span with a 3-byte trace id decodes; the
// mapping refuses it through partial_success), enums keep their integer
// values, unknown fields are skipped.
//
// Plain values: no invariants beyond those stated per field, no
// thread-safety beyond that of std containers.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tracedb::ingest::otel {

struct KeyValue;

// AnyValue (common.proto): oneof value. An AnyValue with no field set is
// kEmpty (OTLP allows it: "an empty value").
struct AnyValue {
  enum class Kind : uint8_t {
    kEmpty = 0,
    kString = 1,   // 1 string_value
    kBool = 2,     // 2 bool_value
    kInt = 3,      // 3 int_value (int64)
    kDouble = 4,   // 4 double_value (fixed64)
    kArray = 5,    // 5 array_value: ArrayValue { 1 repeated AnyValue values }
    kKvList = 6,   // 6 kvlist_value: KeyValueList { 1 repeated KeyValue values }
    kBytes = 7,    // 7 bytes_value
  };
  Kind kind = Kind::kEmpty;
  std::string str;                  // kString, kBytes (raw bytes)
  int64_t i = 0;                    // kInt; kBool as 0 / 1
  double d = 0;                     // kDouble
  std::vector<AnyValue> array;      // kArray
  std::vector<KeyValue> kvlist;     // kKvList

  friend bool operator==(const AnyValue&, const AnyValue&);
};

// KeyValue (common.proto): 1 key, 2 value.
struct KeyValue {
  std::string key;
  AnyValue value;

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

inline bool operator==(const AnyValue& a, const AnyValue& b) {
  return a.kind == b.kind && a.str == b.str && a.i == b.i && a.d == b.d && a.array == b.array &&
         a.kvlist == b.kvlist;
}

// Resource (resource.proto): 1 repeated attributes, 2 dropped_attributes_count.
struct Resource {
  std::vector<KeyValue> attributes;
  uint32_t dropped_attributes_count = 0;

  friend bool operator==(const Resource&, const Resource&) = default;
};

// InstrumentationScope (common.proto): 1 name, 2 version, 3 repeated
// attributes, 4 dropped_attributes_count.
struct InstrumentationScope {
  std::string name;
  std::string version;
  std::vector<KeyValue> attributes;
  uint32_t dropped_attributes_count = 0;

  friend bool operator==(const InstrumentationScope&, const InstrumentationScope&) = default;
};

// Span.Event (trace.proto): 1 time_unix_nano fixed64, 2 name, 3 repeated
// attributes, 4 dropped_attributes_count.
struct SpanEvent {
  uint64_t time_unix_nano = 0;
  std::string name;
  std::vector<KeyValue> attributes;
  uint32_t dropped_attributes_count = 0;

  friend bool operator==(const SpanEvent&, const SpanEvent&) = default;
};

// Span.Link (trace.proto): 1 trace_id, 2 span_id, 3 trace_state, 4 repeated
// attributes, 5 dropped_attributes_count, 6 flags fixed32.
struct SpanLink {
  std::string trace_id;  // raw bytes (16 when valid)
  std::string span_id;   // raw bytes (8 when valid)
  std::string trace_state;
  std::vector<KeyValue> attributes;
  uint32_t dropped_attributes_count = 0;
  uint32_t flags = 0;

  friend bool operator==(const SpanLink&, const SpanLink&) = default;
};

// Status (trace.proto): 2 message, 3 code (0 unset, 1 ok, 2 error).
struct SpanStatus {
  std::string message;
  int32_t code = 0;

  friend bool operator==(const SpanStatus&, const SpanStatus&) = default;
};

// Span (trace.proto).
struct Span {
  std::string trace_id;        // 1, raw bytes (16 when valid)
  std::string span_id;         // 2, raw bytes (8 when valid)
  std::string trace_state;     // 3
  std::string parent_span_id;  // 4, raw bytes; empty on a root span
  std::string name;            // 5
  int32_t kind = 0;            // 6, SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer
  uint64_t start_time_unix_nano = 0;  // 7 fixed64
  uint64_t end_time_unix_nano = 0;    // 8 fixed64
  std::vector<KeyValue> attributes;   // 9
  uint32_t dropped_attributes_count = 0;  // 10
  std::vector<SpanEvent> events;          // 11
  uint32_t dropped_events_count = 0;      // 12
  std::vector<SpanLink> links;            // 13
  uint32_t dropped_links_count = 0;       // 14
  SpanStatus status;                      // 15
  uint32_t flags = 0;                     // 16 fixed32: W3C flags in bits 0-7, 0x100/0x200 is_remote

  friend bool operator==(const Span&, const Span&) = default;
};

// ScopeSpans (trace.proto): 1 scope, 2 repeated spans, 3 schema_url.
struct ScopeSpans {
  InstrumentationScope scope;
  std::vector<Span> spans;
  std::string schema_url;

  friend bool operator==(const ScopeSpans&, const ScopeSpans&) = default;
};

// ResourceSpans (trace.proto): 1 resource, 2 repeated scope_spans, 3 schema_url.
struct ResourceSpans {
  Resource resource;
  std::vector<ScopeSpans> scope_spans;
  std::string schema_url;

  friend bool operator==(const ResourceSpans&, const ResourceSpans&) = default;
};

// ExportTraceServiceRequest (trace_service.proto): 1 repeated resource_spans.
struct ExportTraceServiceRequest {
  std::vector<ResourceSpans> resource_spans;

  friend bool operator==(const ExportTraceServiceRequest&, const ExportTraceServiceRequest&) = default;
};

// ExportTraceServicePartialSuccess: 1 rejected_spans int64, 2 error_message.
// The response's partial_success is unset (nullopt-like: rejected 0 and no
// message) on full success.
struct PartialSuccess {
  int64_t rejected_spans = 0;
  std::string error_message;

  bool empty() const { return rejected_spans == 0 && error_message.empty(); }
};

}  // namespace tracedb::ingest::otel
