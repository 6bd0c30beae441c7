// The JSON of an OpenTelemetry trace: every OtelSpan field, in the OTLP/JSON
// spelling where OTLP/JSON has one (hex ids, typed AnyValue objects, 64-bit
// integers as strings, bytes as base64), so clients can reuse OTLP parsers.
// The one loss is a NaN's payload bits: JSON has only "NaN".

#include <cmath>

#include "query/encoding.h"
#include "query/query.h"
#include "schema/json_writer.h"
#include "schema/rfc3339.h"
#include "schema/uuid.h"

namespace tracedb::query {

namespace {

constexpr std::string_view kSpanKinds[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};
constexpr std::string_view kStatusCodes[] = {"unset", "ok", "error"};

// A 64-bit integer as OTLP/JSON (proto3 JSON) writes it: a string.
void Int64(int64_t v, schema::JsonWriter* w) { w->String(std::to_string(v)); }

void Attributes(const schema::Attributes& attrs, schema::JsonWriter* w);

void AnyValue(const schema::AttributeValue& v, schema::JsonWriter* w) {
  using K = schema::AttributeValue::Kind;
  w->BeginObject();
  switch (v.kind) {
    case K::kString:
      w->PlainKey("stringValue");
      w->String(v.str);
      break;
    case K::kBool:
      w->PlainKey("boolValue");
      w->Bool(v.i != 0);
      break;
    case K::kInt:
      w->PlainKey("intValue");
      Int64(v.i, w);
      break;
    case K::kDouble:
      w->PlainKey("doubleValue");
      if (std::isnan(v.d)) {
        w->String("NaN");
      } else if (std::isinf(v.d)) {
        w->String(v.d > 0 ? "Infinity" : "-Infinity");
      } else {
        w->F64(v.d);
      }
      break;
    case K::kBytes:
      w->PlainKey("bytesValue");
      w->String(Base64(v.str));
      break;
    case K::kJson:
      // Never written by OTLP ingest; kept as text under a tracedb name.
      w->PlainKey("jsonValue");
      w->String(v.str);
      break;
    case K::kArray:
      w->PlainKey("arrayValue");
      w->BeginObject();
      w->PlainKey("values");
      w->BeginArray();
      for (const auto& e : v.array) AnyValue(e, w);
      w->EndArray();
      w->EndObject();
      break;
    case K::kKvList:
      w->PlainKey("kvlistValue");
      w->BeginObject();
      w->PlainKey("values");
      Attributes(v.kvlist, w);
      w->EndObject();
      break;
    case K::kEmpty:
      break;
  }
  w->EndObject();
}

void Attributes(const schema::Attributes& attrs, schema::JsonWriter* w) {
  w->BeginArray();
  for (const auto& [key, value] : attrs) {
    w->BeginObject();
    w->PlainKey("key");
    w->String(key);
    w->PlainKey("value");
    AnyValue(value, w);
    w->EndObject();
  }
  w->EndArray();
}

void Dropped(uint32_t n, schema::JsonWriter* w) {
  w->PlainKey("dropped_attributes_count");
  w->Uint(n);
}

void Resource(const schema::OtelResource& r, schema::JsonWriter* w) {
  w->BeginObject();
  w->PlainKey("attributes");
  Attributes(r.attributes, w);
  Dropped(r.dropped_attributes_count, w);
  w->PlainKey("schema_url");
  w->String(r.schema_url);
  w->EndObject();
}

void Scope(const schema::OtelScope& s, schema::JsonWriter* w) {
  w->BeginObject();
  w->PlainKey("name");
  w->String(s.name);
  w->PlainKey("version");
  w->String(s.version);
  w->PlainKey("attributes");
  Attributes(s.attributes, w);
  Dropped(s.dropped_attributes_count, w);
  w->PlainKey("schema_url");
  w->String(s.schema_url);
  w->EndObject();
}

void SpanEvents(const std::vector<schema::OtelSpanEvent>& events, schema::JsonWriter* w) {
  w->BeginArray();
  for (const auto& e : events) {
    w->BeginObject();
    w->PlainKey("time_unix_nano");
    Int64(e.time_ns, w);
    w->PlainKey("name");
    w->String(e.name);
    w->PlainKey("attributes");
    Attributes(e.attributes, w);
    Dropped(e.dropped_attributes_count, w);
    w->EndObject();
  }
  w->EndArray();
}

void Links(const std::vector<schema::OtelLink>& links, schema::JsonWriter* w) {
  w->BeginArray();
  for (const auto& l : links) {
    w->BeginObject();
    w->PlainKey("trace_id");
    w->String(Hex(l.trace_id));
    w->PlainKey("span_id");
    w->String(Hex(l.span_id));
    w->PlainKey("trace_state");
    w->String(l.trace_state);
    w->PlainKey("attributes");
    Attributes(l.attributes, w);
    Dropped(l.dropped_attributes_count, w);
    w->PlainKey("flags");
    w->Uint(l.flags);
    w->EndObject();
  }
  w->EndArray();
}

void Span(const schema::Trace& t, const schema::Event& e, const schema::OtelSpan& s, schema::JsonWriter* w) {
  w->BeginObject();
  w->PlainKey("trace_id");
  w->String(TraceIdText(t));
  w->PlainKey("span_id");
  w->String(HexOf(s.span_id));
  w->PlainKey("parent_span_id");
  if (s.parent_span_id) {
    w->String(HexOf(*s.parent_span_id));
  } else {
    w->Null();
  }
  w->PlainKey("name");
  w->String(s.name);
  w->PlainKey("kind");
  w->String(s.kind < std::size(kSpanKinds) ? kSpanKinds[s.kind] : std::to_string(s.kind));
  w->PlainKey("kind_code");
  w->Uint(s.kind);
  w->PlainKey("start_time_unix_nano");
  Int64(e.timestamp_ns, w);
  w->PlainKey("end_time_unix_nano");
  Int64(s.end_ns, w);
  w->PlainKey("duration_ns");
  Int64(s.end_ns - e.timestamp_ns, w);
  w->PlainKey("status");
  w->BeginObject();
  w->PlainKey("code");
  w->String(s.status_code < std::size(kStatusCodes) ? kStatusCodes[s.status_code] : std::to_string(s.status_code));
  w->PlainKey("code_value");
  w->Uint(s.status_code);
  w->PlainKey("message");
  w->String(s.status_message);
  w->EndObject();
  w->PlainKey("trace_state");
  w->String(s.trace_state);
  w->PlainKey("flags");
  w->Uint(s.flags);
  w->PlainKey("attributes");
  Attributes(s.attributes, w);
  Dropped(s.dropped_attributes_count, w);
  w->PlainKey("events");
  SpanEvents(s.events, w);
  w->PlainKey("dropped_events_count");
  w->Uint(s.dropped_events_count);
  w->PlainKey("links");
  Links(s.links, w);
  w->PlainKey("dropped_links_count");
  w->Uint(s.dropped_links_count);
  static const schema::OtelResource kNoResource;
  static const schema::OtelScope kNoScope;
  w->PlainKey("resource");
  Resource(s.resource ? *s.resource : kNoResource, w);
  w->PlainKey("scope");
  Scope(s.scope ? *s.scope : kNoScope, w);
  w->EndObject();
}

}  // namespace

std::string TraceIdText(const schema::Trace& trace) {
  if (trace.source != schema::Source::kOtel) return schema::FormatUuid(trace.trace_id);
  return HexOf(trace.trace_id);
}

std::string RenderOtelTraceJson(const schema::Trace& t) {
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("trace_id");
  w.String(TraceIdText(t));
  w.PlainKey("source");
  w.String("otel");
  w.PlainKey("service");
  w.String(t.flow_id);
  w.PlainKey("name");
  w.String(t.name);
  w.PlainKey("status");
  w.String(StatusName(t.status.code));
  if (t.status.code == schema::StatusCode::kFailed) {
    w.PlainKey("error");
    w.String(t.status.error);
  }
  w.PlainKey("start_time_unix_nano");
  Int64(t.start_ns, &w);
  w.PlainKey("end_time_unix_nano");
  if (t.end_ns) {
    Int64(*t.end_ns, &w);
  } else {
    w.Null();
  }
  w.PlainKey("start");
  w.String(schema::FormatRfc3339(t.start_ns));
  w.PlainKey("spans");
  w.BeginArray();
  for (const auto& e : t.events) {
    if (e.otel) Span(t, e, *e.otel, &w);
  }
  w.EndArray();
  w.EndObject();
  return out;
}

}  // namespace tracedb::query
