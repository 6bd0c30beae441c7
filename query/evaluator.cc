#include "query/evaluator.h"

#include <re2/re2.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "index/index.h"
#include "schema/uuid.h"

namespace tracedb::query {

namespace {

bool IsOperonxType(uint8_t type) { return type >= 32 && type < 64; }

Datum Str(std::string s) {
  Datum d;
  d.kind = Datum::Kind::kString;
  d.s = std::move(s);
  return d;
}
Datum Int(int64_t v) {
  Datum d;
  d.kind = Datum::Kind::kInt;
  d.i = v;
  return d;
}
Datum Float(double v) {
  Datum d;
  d.kind = Datum::Kind::kFloat;
  d.d = v;
  return d;
}
Datum IdDatum(const schema::Id128& id) {
  Datum d;
  d.kind = Datum::Kind::kId;
  d.id = id;
  return d;
}
template <typename T>
Datum OptU64(const std::optional<T>& v) {
  if (!v) return Datum();
  uint64_t x = static_cast<uint64_t>(*v);
  return Int(x > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(x));
}
Datum U64Column(uint64_t v) {
  if (v == engine::ColumnChunk::kNone) return Datum();
  return Int(v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v));
}

// Reads `path` inside the JSON object text `json`. Arrays take numeric
// segments. Malformed JSON reads as absent.
Datum JsonPath(std::string_view json, const std::vector<std::string>& path) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element el;
  if (parser.parse(json.data(), json.size()).get(el) != simdjson::SUCCESS) return Datum();
  for (const auto& seg : path) {
    if (el.is_object()) {
      if (el.get_object().at_key(seg).get(el) != simdjson::SUCCESS) return Datum();
    } else if (el.is_array()) {
      char* end = nullptr;
      unsigned long idx = std::strtoul(seg.c_str(), &end, 10);
      if (seg.empty() || *end != '\0') return Datum();
      if (el.get_array().at(idx).get(el) != simdjson::SUCCESS) return Datum();
    } else {
      return Datum();
    }
  }
  switch (el.type()) {
    case simdjson::dom::element_type::STRING: return Str(std::string(el.get_string().value_unsafe()));
    case simdjson::dom::element_type::INT64: return Int(el.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64: {
      uint64_t v = el.get_uint64().value_unsafe();
      return Float(static_cast<double>(v));
    }
    case simdjson::dom::element_type::DOUBLE: {
      double v = el.get_double().value_unsafe();
      // Integral doubles compare like integers (1.0 = 1).
      if (std::floor(v) == v && std::fabs(v) < 9e15) return Int(static_cast<int64_t>(v));
      return Float(v);
    }
    case simdjson::dom::element_type::BOOL: {
      Datum d;
      d.kind = Datum::Kind::kBool;
      d.b = el.get_bool().value_unsafe();
      return d;
    }
    case simdjson::dom::element_type::NULL_VALUE: return Datum();
    default: {
      Datum d;
      d.kind = Datum::Kind::kOther;
      return d;
    }
  }
}

std::string JoinCtx(const std::vector<std::string>& ctx) {
  std::string out;
  for (size_t i = 0; i < ctx.size(); ++i) {
    if (i) out.push_back('/');
    out += ctx[i];
  }
  return out;
}

std::string JoinPath(const std::vector<std::string>& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (i) out.push_back('.');
    out += path[i];
  }
  return out;
}

// -1, 0, 1, or 2 when the two are not comparable.
int Compare(const Datum& a, const Value& b) {
  auto sign = [](auto x, auto y) { return x < y ? -1 : (x > y ? 1 : 0); };
  bool a_num = a.kind == Datum::Kind::kInt || a.kind == Datum::Kind::kFloat;
  bool b_num = b.kind == Value::Kind::kInt || b.kind == Value::Kind::kFloat;
  if (a_num && b_num) {
    if (a.kind == Datum::Kind::kInt && b.kind == Value::Kind::kInt) return sign(a.i, b.i);
    double x = a.kind == Datum::Kind::kInt ? static_cast<double>(a.i) : a.d;
    double y = b.kind == Value::Kind::kInt ? static_cast<double>(b.i) : b.d;
    if (std::isnan(x) || std::isnan(y)) return 2;
    return sign(x, y);
  }
  if (a.kind == Datum::Kind::kString && b.kind == Value::Kind::kString) {
    int c = a.s.compare(b.s);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.kind == Datum::Kind::kBool && b.kind == Value::Kind::kBool) return sign(a.b, b.b);
  if (a.kind == Datum::Kind::kId && b.kind == Value::Kind::kId) return sign(a.id, b.id);
  if (a.kind == Datum::Kind::kVersion && b.kind == Value::Kind::kVersion) return sign(a.version, b.version);
  return 2;
}

// Text that string operators (regex, glob, contains, prefix) apply to.
bool TextOf(const Datum& d, std::string* out) {
  if (d.kind == Datum::Kind::kString) {
    *out = d.s;
    return true;
  }
  if (d.kind == Datum::Kind::kId) {
    *out = schema::FormatUuid(d.id);
    return true;
  }
  return false;
}

bool MatchPositive(const Predicate& p, const Datum& d) {
  switch (p.op) {
    case Op::kEq: return Compare(d, p.values[0]) == 0;
    case Op::kIn:
      for (const auto& v : p.values) {
        if (Compare(d, v) == 0) return true;
      }
      return false;
    case Op::kLt: { int c = Compare(d, p.values[0]); return c == -1; }
    case Op::kLe: { int c = Compare(d, p.values[0]); return c == -1 || c == 0; }
    case Op::kGt: { int c = Compare(d, p.values[0]); return c == 1; }
    case Op::kGe: { int c = Compare(d, p.values[0]); return c == 1 || c == 0; }
    case Op::kExists: return true;
    default: break;
  }
  std::string text;
  if (!TextOf(d, &text)) return false;
  const std::string& pat = p.values[0].s;
  switch (p.op) {
    case Op::kRegex: return p.regex && RE2::FullMatch(text, *p.regex);
    case Op::kGlob: return index::GlobMatch(pat, text);
    case Op::kContains: return text.find(pat) != std::string::npos;
    case Op::kPrefix:
      if (p.field.id == FieldId::kCtx) {
        // Segment prefix: "main" matches "main" and "main/[0]", not "mainx".
        return pat.empty() || text == pat || (text.size() > pat.size() && text.compare(0, pat.size(), pat) == 0 &&
                                              text[pat.size()] == '/');
      }
      return text.compare(0, pat.size(), pat) == 0;
    default: return false;
  }
}

std::string_view ShortName(std::string_view op_name) {
  size_t dot = op_name.rfind('.');
  return dot == std::string_view::npos ? op_name : op_name.substr(dot + 1);
}

std::string_view SourceName(schema::Source s) {
  switch (s) {
    case schema::Source::kReflow: return "reflow";
    case schema::Source::kOperonx: return "operonx";
    case schema::Source::kOtel: return "otel";
  }
  return "unknown";
}

class FullEventView final : public EventView {
 public:
  FullEventView(const schema::Event& e, const schema::HotFields& hot, const schema::Trace& trace)
      : e_(e), hot_(hot), trace_(trace) {}
  Datum Get(const Field& field) const override { return EventField(field, e_, hot_, &trace_); }

 private:
  const schema::Event& e_;
  const schema::HotFields& hot_;
  const schema::Trace& trace_;
};

// A typed OTel attribute as a datum: strings, ints, doubles and bools
// compare; bytes, arrays, key-value lists and empty values only exist.
Datum AttributeDatum(const schema::AttributeValue& v) {
  using K = schema::AttributeValue::Kind;
  switch (v.kind) {
    case K::kString: return Str(v.str);
    case K::kInt: return Int(v.i);
    case K::kDouble: return Float(v.d);
    case K::kBool: {
      Datum d;
      d.kind = Datum::Kind::kBool;
      d.b = v.i != 0;
      return d;
    }
    default: {
      Datum d;
      d.kind = Datum::Kind::kOther;
      return d;
    }
  }
}

// The last value of `key` (OTLP keys should be unique; when repeated the
// last wins, as in a map built in order).
const schema::AttributeValue* FindAttribute(const schema::Attributes& attrs, std::string_view key) {
  const schema::AttributeValue* found = nullptr;
  for (const auto& [k, v] : attrs) {
    if (k == key) found = &v;
  }
  return found;
}

// `path` in OTel attributes: the whole path joined with '.' as one key
// (`attr.http.route` is the key "http.route"), else the first segment as the
// key and the rest descending into key-value lists (by key) and arrays (by
// index).
Datum OtelAttribute(const schema::Attributes& attrs, const std::vector<std::string>& path) {
  if (const schema::AttributeValue* v = FindAttribute(attrs, JoinPath(path))) return AttributeDatum(*v);
  const schema::AttributeValue* v = FindAttribute(attrs, path[0]);
  for (size_t i = 1; v && i < path.size(); ++i) {
    const std::string& seg = path[i];
    if (v->kind == schema::AttributeValue::Kind::kKvList) {
      v = FindAttribute(v->kvlist, seg);
    } else if (v->kind == schema::AttributeValue::Kind::kArray) {
      char* end = nullptr;
      unsigned long idx = std::strtoul(seg.c_str(), &end, 10);
      v = !seg.empty() && *end == '\0' && idx < v->array.size() ? &v->array[idx] : nullptr;
    } else {
      v = nullptr;
    }
  }
  return v ? AttributeDatum(*v) : Datum();
}

constexpr std::string_view kSpanKindNames[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};

std::string SpanKindName(uint8_t kind) {
  return kind < std::size(kSpanKindNames) ? std::string(kSpanKindNames[kind]) : std::to_string(kind);
}

bool IsSpan(uint8_t type) { return type == static_cast<uint8_t>(schema::EventType::kSpan); }

class ColumnEventView final : public EventView {
 public:
  ColumnEventView(const engine::ColumnChunk& c, size_t row, const schema::Trace& trace)
      : c_(c), row_(row), trace_(trace) {}
  Datum Get(const Field& field) const override { return ColumnField(field, c_, row_, &trace_); }

 private:
  const engine::ColumnChunk& c_;
  size_t row_;
  const schema::Trace& trace_;
};

}  // namespace

bool Datum::AsDouble(double* out) const {
  if (kind == Kind::kInt) {
    *out = static_cast<double>(i);
    return true;
  }
  if (kind == Kind::kFloat) {
    *out = d;
    return true;
  }
  return false;
}

std::string Datum::ToText(const Field& field) const {
  switch (kind) {
    case Kind::kAbsent: return "";
    case Kind::kOther: return "<json>";
    case Kind::kBool: return b ? "true" : "false";
    case Kind::kString: return s;
    case Kind::kId: return schema::FormatUuid(id);
    case Kind::kVersion:
      return std::to_string(version[0]) + "." + std::to_string(version[1]) + "." + std::to_string(version[2]);
    case Kind::kFloat: {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%g", d);
      return buf;
    }
    case Kind::kInt:
      switch (field.type) {
        case ValueType::kStatus: return std::string(StatusName(static_cast<schema::StatusCode>(i)));
        case ValueType::kEventType: return std::string(EventTypeName(static_cast<schema::EventType>(i)));
        case ValueType::kEventStatus: return std::string(EventStatusName(static_cast<uint8_t>(i)));
        default: return std::to_string(i);
      }
  }
  return "";
}

Needs NeedsOf(const Field& field) {
  // The services of an OTel trace are its spans' (TracePredicate).
  if (field.scope == Scope::kTrace) return field.id == FieldId::kService ? Needs::kFullTrace : Needs::kHeader;
  return field.hot ? Needs::kColumns : Needs::kFullTrace;
}

Needs NeedsOf(const Node& node) {
  Needs n = Needs::kHeader;
  if (node.kind == Node::Kind::kPredicate) n = NeedsOf(node.pred.field);
  if (node.kind == Node::Kind::kAnyEvent) n = Needs::kColumns;  // at least the event list
  for (const auto& c : node.children) n = std::max(n, NeedsOf(c));
  return n;
}

Datum TraceField(const Field& field, const schema::Trace& t) {
  switch (field.id) {
    case FieldId::kTraceId: return IdDatum(t.trace_id);
    case FieldId::kRequestId: return Str(t.external_id.empty() ? schema::FormatUuid(t.trace_id) : t.external_id);
    case FieldId::kFlow:
    case FieldId::kService: return Str(t.flow_id);
    case FieldId::kExecutionId: return IdDatum(t.execution_id);
    case FieldId::kSource: return Str(std::string(SourceName(t.source)));
    case FieldId::kStatus: return Int(static_cast<int64_t>(t.status.code));
    case FieldId::kStatusError:
      return t.status.code == schema::StatusCode::kFailed ? Str(t.status.error) : Datum();
    case FieldId::kStart: return Int(t.start_ns);
    case FieldId::kEnd: return t.end_ns ? Int(*t.end_ns) : Datum();
    case FieldId::kDuration: return t.end_ns ? Int(*t.end_ns - t.start_ns) : Datum();
    case FieldId::kVersion: {
      Datum d;
      d.kind = Datum::Kind::kVersion;
      d.version = {t.version.major, t.version.minor, t.version.patch};
      return d;
    }
    case FieldId::kEnvironment: return Str(t.metadata.environment);
    case FieldId::kHostname: return Str(t.metadata.hostname);
    case FieldId::kUser: return t.metadata.user_id ? Str(*t.metadata.user_id) : Datum();
    case FieldId::kSession: return t.metadata.session_id ? Str(*t.metadata.session_id) : Datum();
    case FieldId::kTag: {
      std::string key = JoinPath(field.path);
      for (const auto& [k, v] : t.metadata.tags) {
        if (k == key) return Str(v);
      }
      return Datum();
    }
    default: return Datum();
  }
}

Datum EventField(const Field& field, const schema::Event& e, const schema::HotFields& hot,
                 const schema::Trace* trace) {
  const schema::ReflowEventData* r = e.reflow ? &*e.reflow : nullptr;
  const schema::OperonxEvent* o = e.operonx ? &*e.operonx : nullptr;
  const schema::OtelSpan* span = e.otel ? &*e.otel : nullptr;
  switch (field.id) {
    case FieldId::kEventId:
      if (r && e.event_id.size() == 16) {
        schema::Id128 id;
        std::memcpy(id.data(), e.event_id.data(), 16);
        return Str(schema::FormatUuid(id));
      }
      return Str(e.event_id);
    case FieldId::kTimestamp: return Int(e.timestamp_ns);
    case FieldId::kType: return Int(static_cast<int64_t>(e.type));
    case FieldId::kActor: return e.actor.empty() ? Datum() : Str(e.actor);
    case FieldId::kEventStatus:
      // A span always has a status: OTLP's "unset" is code 0.
      if (hot.status == schema::EventStatusCode::kNone && !span) return Datum();
      return Int(static_cast<int64_t>(hot.status));
    case FieldId::kSizeBytes: return OptU64(hot.size_bytes);
    case FieldId::kExecutionTimeNs: return OptU64(hot.duration_ns);
    case FieldId::kPort: return r && r->port ? Str(*r->port) : Datum();
    case FieldId::kToActor: return e.type == schema::EventType::kDataFlow ? Str(e.to_actor) : Datum();
    case FieldId::kToPort: return e.type == schema::EventType::kDataFlow ? Str(e.to_port) : Datum();
    case FieldId::kMessageType: return r && r->message ? Str(r->message->message_type) : Datum();
    case FieldId::kQueueDepth: return r ? OptU64(r->metrics.queue_depth) : Datum();
    case FieldId::kMemoryUsageBytes: return r ? OptU64(r->metrics.memory_usage_bytes) : Datum();
    case FieldId::kCpuUsagePercent:
      return r && r->metrics.cpu_usage_percent ? Float(*r->metrics.cpu_usage_percent) : Datum();
    case FieldId::kThroughput:
      return r && r->metrics.throughput_msgs_per_sec ? Float(*r->metrics.throughput_msgs_per_sec) : Datum();
    case FieldId::kError:
      if (r) return r->error ? Str(*r->error) : Datum();
      if (o) {
        Datum d = JsonPath(o->payload_json, {"error"});
        return d.kind == Datum::Kind::kString ? d : Datum();
      }
      return Datum();
    case FieldId::kAttr:
      if (span) return OtelAttribute(span->attributes, field.path);
      return r ? JsonPath(r->custom_attributes_json, field.path) : Datum();
    case FieldId::kResource:
      return span && span->resource ? OtelAttribute(span->resource->attributes, field.path) : Datum();
    case FieldId::kService:
      if (span) {
        static const schema::OtelResource kEmpty;
        return Str(std::string(schema::OtelServiceName(span->resource ? *span->resource : kEmpty)));
      }
      return trace ? Str(trace->flow_id) : Datum();
    case FieldId::kParentEventId: return r && r->causality.parent_event_id ? IdDatum(*r->causality.parent_event_id) : Datum();
    case FieldId::kRootCauseEventId: return r ? IdDatum(r->causality.root_cause_event_id) : Datum();
    case FieldId::kKind:
      if (span) return Str(SpanKindName(span->kind));
      return o ? Str(o->kind) : Datum();
    case FieldId::kOpName: return o && !e.actor.empty() ? Str(e.actor) : Datum();
    case FieldId::kCtx: return o ? Str(JoinCtx(o->ctx)) : Datum();
    case FieldId::kPayload: return o ? JsonPath(o->payload_json, field.path) : Datum();
    default: return Datum();
  }
}

Datum ColumnField(const Field& field, const engine::ColumnChunk& c, size_t row, const schema::Trace* trace) {
  switch (field.id) {
    case FieldId::kService:
      // As EventField: a span's own service, else the trace's flow.
      if (const std::string* service = c.service_at(row)) return Str(*service);
      return trace ? Str(trace->flow_id) : Datum();
    case FieldId::kTimestamp: return Int(c.timestamp_ns[row]);
    case FieldId::kType: return Int(c.type[row]);
    case FieldId::kActor: {
      const std::string& a = c.actors[c.actor[row]];
      return a.empty() ? Datum() : Str(a);
    }
    case FieldId::kOpName: {
      const std::string& a = c.actors[c.actor[row]];
      return IsOperonxType(c.type[row]) && !a.empty() ? Str(a) : Datum();
    }
    case FieldId::kEventStatus: return c.status[row] == 0 && !IsSpan(c.type[row]) ? Datum() : Int(c.status[row]);
    case FieldId::kSizeBytes: return U64Column(c.size_bytes[row]);
    case FieldId::kExecutionTimeNs: return U64Column(c.duration_ns[row]);
    default: return Datum();
  }
}

bool LacksServiceColumn(const engine::ColumnChunk& chunk) {
  if (!chunk.service.empty()) return false;
  return std::any_of(chunk.type.begin(), chunk.type.end(), IsSpan);
}

bool Matches(const Predicate& p, const Datum& d) {
  if (!d.present()) return p.op == Op::kExists && p.negated;
  if (p.op == Op::kExists) return !p.negated;
  bool positive = MatchPositive(p, d);
  if (!positive && p.field.id == FieldId::kOpName) {
    // operonx processors match an op by its full or its short name.
    std::string_view s = ShortName(d.s);
    if (s.size() != d.s.size()) positive = MatchPositive(p, Str(std::string(s)));
  }
  return p.negated ? !positive : positive;
}

bool TracePredicate(const Predicate& pred, const TraceView& trace) {
  const schema::Trace& header = trace.header();
  if (Matches(pred, TraceField(pred.field, header))) return true;
  if (pred.field.id != FieldId::kService || header.source != schema::Source::kOtel) return false;
  Field span_service = pred.field;
  span_service.scope = Scope::kEvent;
  bool found = false;
  trace.ForEachEvent([&](const EventView& ev) {
    found = Matches(pred, ev.Get(span_service));
    return !found;
  });
  return found;
}

FullTraceView::FullTraceView(const schema::Trace& trace) : trace_(trace) {
  hot_.reserve(trace.events.size());
  for (const auto& e : trace.events) hot_.push_back(schema::ExtractHotFields(e));
}

void FullTraceView::ForEachEvent(const std::function<bool(const EventView&)>& fn) const {
  for (size_t i = 0; i < trace_.events.size(); ++i) {
    if (!fn(FullEventView(trace_.events[i], hot_[i], trace_))) return;
  }
}

void ColumnTraceView::ForEachEvent(const std::function<bool(const EventView&)>& fn) const {
  for (const auto& chunk : chunks_) {
    for (size_t row = 0; row < chunk.size(); ++row) {
      if (!fn(ColumnEventView(chunk, row, header_))) return;
    }
  }
}

bool EvaluateOnEvent(const Node& node, const TraceView& trace, const EventView& event) {
  switch (node.kind) {
    case Node::Kind::kTrue: return true;
    case Node::Kind::kAnd:
      for (const auto& c : node.children) {
        if (!EvaluateOnEvent(c, trace, event)) return false;
      }
      return true;
    case Node::Kind::kOr:
      for (const auto& c : node.children) {
        if (EvaluateOnEvent(c, trace, event)) return true;
      }
      return false;
    case Node::Kind::kNot: return !EvaluateOnEvent(node.children[0], trace, event);
    case Node::Kind::kPredicate:
      if (node.pred.field.scope == Scope::kTrace) return TracePredicate(node.pred, trace);
      return Matches(node.pred, event.Get(node.pred.field));
    case Node::Kind::kAnyEvent: return Evaluate(node, trace);
  }
  return false;
}

bool Evaluate(const Node& node, const TraceView& trace) {
  switch (node.kind) {
    case Node::Kind::kTrue: return true;
    case Node::Kind::kAnd:
      for (const auto& c : node.children) {
        if (!Evaluate(c, trace)) return false;
      }
      return true;
    case Node::Kind::kOr:
      for (const auto& c : node.children) {
        if (Evaluate(c, trace)) return true;
      }
      return false;
    case Node::Kind::kNot: return !Evaluate(node.children[0], trace);
    case Node::Kind::kPredicate:
      // An event predicate outside kAnyEvent does not come from the binder;
      // treat it as "some event" to stay total.
      if (node.pred.field.scope == Scope::kEvent) {
        bool found = false;
        trace.ForEachEvent([&](const EventView& ev) {
          found = Matches(node.pred, ev.Get(node.pred.field));
          return !found;
        });
        return found;
      }
      return TracePredicate(node.pred, trace);
    case Node::Kind::kAnyEvent: {
      bool found = false;
      trace.ForEachEvent([&](const EventView& ev) {
        found = EvaluateOnEvent(node.children[0], trace, ev);
        return !found;
      });
      return found;
    }
  }
  return false;
}

}  // namespace tracedb::query
