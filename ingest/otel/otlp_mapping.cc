#include "ingest/otel/otlp_mapping.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tracedb::ingest::otel {
namespace {

using schema::AttributeValue;
using schema::TimestampNs;

constexpr uint64_t kMaxTime = static_cast<uint64_t>(std::numeric_limits<TimestampNs>::max());

bool ConvertValue(AnyValue&& v, uint32_t levels_left, AttributeValue* out);

bool ConvertAttributes(std::vector<KeyValue>&& in, uint32_t levels_left, schema::Attributes* out) {
  out->reserve(out->size() + in.size());
  for (KeyValue& kv : in) {
    AttributeValue value;
    if (!ConvertValue(std::move(kv.value), levels_left, &value)) return false;
    out->emplace_back(std::move(kv.key), std::move(value));
  }
  return true;
}

// levels_left: how many more array / key-value list levels may follow.
bool ConvertValue(AnyValue&& v, uint32_t levels_left, AttributeValue* out) {
  using K = AttributeValue::Kind;
  switch (v.kind) {
    case AnyValue::Kind::kEmpty: out->kind = K::kEmpty; return true;
    case AnyValue::Kind::kString: out->kind = K::kString; out->str = std::move(v.str); return true;
    case AnyValue::Kind::kBool: out->kind = K::kBool; out->i = v.i != 0 ? 1 : 0; return true;
    case AnyValue::Kind::kInt: out->kind = K::kInt; out->i = v.i; return true;
    case AnyValue::Kind::kDouble: out->kind = K::kDouble; out->d = v.d; return true;
    case AnyValue::Kind::kBytes: out->kind = K::kBytes; out->str = std::move(v.str); return true;
    case AnyValue::Kind::kArray:
      if (levels_left == 0) return false;
      out->kind = K::kArray;
      out->array.resize(v.array.size());
      for (size_t i = 0; i < v.array.size(); ++i) {
        if (!ConvertValue(std::move(v.array[i]), levels_left - 1, &out->array[i])) return false;
      }
      return true;
    case AnyValue::Kind::kKvList:
      if (levels_left == 0) return false;
      out->kind = K::kKvList;
      return ConvertAttributes(std::move(v.kvlist), levels_left - 1, &out->kvlist);
  }
  return false;
}

bool IsZero(const std::string& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

std::string BytesReason(const char* what, const std::string& bytes, size_t want) {
  if (bytes.size() != want) {
    return std::string(what) + " is " + std::to_string(bytes.size()) + " bytes, not " + std::to_string(want);
  }
  return std::string(what) + " is all zero";
}

// Why `span` cannot be stored, or "" when it can (attributes are checked
// while converting).
std::string Invalid(const Span& span) {
  if (span.trace_id.size() != 16 || IsZero(span.trace_id)) return BytesReason("trace id", span.trace_id, 16);
  if (span.span_id.size() != 8 || IsZero(span.span_id)) return BytesReason("span id", span.span_id, 8);
  if (!span.parent_span_id.empty() && span.parent_span_id.size() != 8) {
    return "parent span id is " + std::to_string(span.parent_span_id.size()) + " bytes, not 0 or 8";
  }
  if (span.end_time_unix_nano < span.start_time_unix_nano) return "end time before start time";
  if (span.end_time_unix_nano > kMaxTime) return "end time beyond int64 nanoseconds";
  for (const SpanEvent& e : span.events) {
    if (e.time_unix_nano > kMaxTime) return "event time beyond int64 nanoseconds";
  }
  if (span.kind < 0 || span.kind > 255) return "kind " + std::to_string(span.kind) + " out of range";
  if (span.status.code < 0 || span.status.code > 255) {
    return "status code " + std::to_string(span.status.code) + " out of range";
  }
  return {};
}

schema::SpanId ToSpanId(const std::string& bytes) {
  schema::SpanId id{};
  std::memcpy(id.data(), bytes.data(), id.size());
  return id;
}

const std::string kNestedTooDeep = "attribute value nested deeper than " + std::to_string(schema::kMaxAttributeDepth);

// Converts a valid span (Invalid() == ""); fails only on attribute depth.
bool ConvertSpan(Span&& in, schema::OtelSpan* out) {
  out->span_id = ToSpanId(in.span_id);
  if (!in.parent_span_id.empty()) out->parent_span_id = ToSpanId(in.parent_span_id);
  out->name = std::move(in.name);
  out->kind = static_cast<uint8_t>(in.kind);
  out->status_code = static_cast<uint8_t>(in.status.code);
  out->status_message = std::move(in.status.message);
  out->end_ns = static_cast<TimestampNs>(in.end_time_unix_nano);
  if (!ConvertAttributes(std::move(in.attributes), schema::kMaxAttributeDepth, &out->attributes)) return false;
  out->trace_state = std::move(in.trace_state);
  out->flags = in.flags;
  out->dropped_attributes_count = in.dropped_attributes_count;
  out->events.resize(in.events.size());
  for (size_t i = 0; i < in.events.size(); ++i) {
    SpanEvent& e = in.events[i];
    schema::OtelSpanEvent& o = out->events[i];
    o.time_ns = static_cast<TimestampNs>(e.time_unix_nano);
    o.name = std::move(e.name);
    o.dropped_attributes_count = e.dropped_attributes_count;
    if (!ConvertAttributes(std::move(e.attributes), schema::kMaxAttributeDepth, &o.attributes)) return false;
  }
  out->dropped_events_count = in.dropped_events_count;
  out->links.resize(in.links.size());
  for (size_t i = 0; i < in.links.size(); ++i) {
    SpanLink& l = in.links[i];
    schema::OtelLink& o = out->links[i];
    o.trace_id = std::move(l.trace_id);
    o.span_id = std::move(l.span_id);
    o.trace_state = std::move(l.trace_state);
    o.dropped_attributes_count = l.dropped_attributes_count;
    o.flags = l.flags;
    if (!ConvertAttributes(std::move(l.attributes), schema::kMaxAttributeDepth, &o.attributes)) return false;
  }
  out->dropped_links_count = in.dropped_links_count;
  return true;
}

const AttributeValue* FindString(const schema::Attributes& attrs, std::string_view key) {
  for (const auto& [k, v] : attrs) {
    if (k == key && v.kind == AttributeValue::Kind::kString) return &v;
  }
  return nullptr;
}

// The trace metadata a resource names by OpenTelemetry semantic conventions.
schema::TraceMetadata MetadataOf(const schema::OtelResource& r) {
  schema::TraceMetadata m;
  if (const AttributeValue* v = FindString(r.attributes, "host.name")) m.hostname = v->str;
  if (const AttributeValue* v = FindString(r.attributes, "deployment.environment.name")) {
    m.environment = v->str;
  } else if (const AttributeValue* v2 = FindString(r.attributes, "deployment.environment")) {
    m.environment = v2->str;
  }
  for (const auto& [k, v] : r.attributes) {
    if (k == "process.pid" && v.kind == AttributeValue::Kind::kInt && v.i >= 0 &&
        v.i <= std::numeric_limits<uint32_t>::max()) {
      m.process_id = static_cast<uint32_t>(v.i);
    }
  }
  return m;
}

// The spans of one trace in one request, and what its header learns.
struct TracePiece {
  schema::Id128 trace_id{};
  std::vector<schema::Event> events;
  std::vector<std::string> services;
  TimestampNs start = 0;
  TimestampNs end = 0;
  // The naming span: the earliest root, else the earliest span.
  size_t naming = 0;
  bool naming_is_root = false;
  std::string service_of_naming;
  std::shared_ptr<const schema::OtelResource> resource_of_naming;
  // The first failed span's "<name>: <message>".
  std::optional<std::string> failure;
};

struct IdHash {
  size_t operator()(const schema::Id128& id) const {
    uint64_t v;
    std::memcpy(&v, id.data(), sizeof(v));
    return v;
  }
};

class Mapper {
 public:
  void AddResourceSpans(ResourceSpans&& rs, size_t rs_index) {
    auto resource = std::make_shared<schema::OtelResource>();
    resource->dropped_attributes_count = rs.resource.dropped_attributes_count;
    resource->schema_url = std::move(rs.schema_url);
    bool resource_ok =
        ConvertAttributes(std::move(rs.resource.attributes), schema::kMaxAttributeDepth, &resource->attributes);
    std::string service = ServiceName(*resource);
    std::shared_ptr<const schema::OtelResource> shared = std::move(resource);
    for (size_t j = 0; j < rs.scope_spans.size(); ++j) {
      ScopeSpans& ss = rs.scope_spans[j];
      auto scope = std::make_shared<schema::OtelScope>();
      scope->name = std::move(ss.scope.name);
      scope->version = std::move(ss.scope.version);
      scope->dropped_attributes_count = ss.scope.dropped_attributes_count;
      scope->schema_url = std::move(ss.schema_url);
      bool scope_ok =
          ConvertAttributes(std::move(ss.scope.attributes), schema::kMaxAttributeDepth, &scope->attributes);
      std::shared_ptr<const schema::OtelScope> shared_scope = std::move(scope);
      for (size_t k = 0; k < ss.spans.size(); ++k) {
        std::string reason = !resource_ok ? "resource " + kNestedTooDeep
                             : !scope_ok  ? "scope " + kNestedTooDeep
                                          : Invalid(ss.spans[k]);
        if (reason.empty()) reason = AddSpan(std::move(ss.spans[k]), shared, shared_scope, service);
        if (!reason.empty()) Reject(rs_index, j, k, reason);
      }
    }
  }

  MapResult Emit(engine::WriteBatch* batch) {
    batch->Reserve(batch->size() + pieces_.size() + accepted_);
    for (TracePiece& p : pieces_) {
      schema::Trace h;
      h.trace_id = p.trace_id;
      h.source = schema::Source::kOtel;
      h.flow_id = p.service_of_naming;
      h.name = p.events[p.naming].actor;
      h.start_ns = p.start;
      h.end_ns = p.end;
      h.version.timestamp_ns = p.start;
      if (p.failure) {
        h.status = schema::ExecutionStatus{schema::StatusCode::kFailed, *p.failure};
      } else {
        h.status = schema::ExecutionStatus{schema::StatusCode::kCompleted, ""};
      }
      if (p.resource_of_naming) h.metadata = MetadataOf(*p.resource_of_naming);
      batch->MergeTrace(std::move(h), p.naming_is_root ? engine::HeaderRole::kRoot : engine::HeaderRole::kPartial,
                        std::move(p.services));
      for (schema::Event& e : p.events) batch->AppendEvent(p.trace_id, std::move(e));
    }
    MapResult result;
    result.accepted_spans = accepted_;
    result.partial_success.rejected_spans = static_cast<int64_t>(rejected_);
    if (rejected_ > 0) {
      std::string msg = std::to_string(rejected_) + " of " + std::to_string(rejected_ + accepted_) +
                        " spans rejected: " + reasons_;
      if (rejected_ > kMaxReasons) msg += "; and " + std::to_string(rejected_ - kMaxReasons) + " more";
      result.partial_success.error_message = std::move(msg);
    }
    return result;
  }

 private:
  // Returns a refusal reason, or "" when the span was added.
  std::string AddSpan(Span&& span, const std::shared_ptr<const schema::OtelResource>& resource,
                      const std::shared_ptr<const schema::OtelScope>& scope, const std::string& service) {
    schema::Event e;
    e.timestamp_ns = static_cast<TimestampNs>(span.start_time_unix_nano);
    e.event_id = span.span_id;
    e.type = schema::EventType::kSpan;
    schema::Id128 trace_id;
    std::memcpy(trace_id.data(), span.trace_id.data(), trace_id.size());
    schema::OtelSpan& s = e.otel.emplace();
    if (!ConvertSpan(std::move(span), &s)) return kNestedTooDeep;
    s.resource = resource;
    s.scope = scope;
    e.actor = s.name;

    TracePiece& p = Piece(trace_id, e);
    bool is_root = !s.parent_span_id.has_value();
    if (s.status_code == 2 && !p.failure) {
      p.failure = s.name + ": " + (s.status_message.empty() ? std::string("error") : s.status_message);
    }
    if (std::find(p.services.begin(), p.services.end(), service) == p.services.end()) p.services.push_back(service);
    p.start = std::min(p.start, e.timestamp_ns);
    p.end = std::max(p.end, s.end_ns);
    const schema::Event* naming = p.events.empty() ? nullptr : &p.events[p.naming];
    bool names = naming == nullptr || (is_root && !p.naming_is_root) ||
                 (is_root == p.naming_is_root && e.timestamp_ns < naming->timestamp_ns);
    if (names) {
      p.naming = p.events.size();
      p.naming_is_root = is_root;
      p.service_of_naming = service;
      p.resource_of_naming = resource;
    }
    p.events.push_back(std::move(e));
    ++accepted_;
    return {};
  }

  TracePiece& Piece(const schema::Id128& id, const schema::Event& first) {
    auto [it, added] = by_id_.emplace(id, pieces_.size());
    if (added) {
      TracePiece& p = pieces_.emplace_back();
      p.trace_id = id;
      p.start = first.timestamp_ns;
      p.end = first.otel->end_ns;
    }
    return pieces_[it->second];
  }

  void Reject(size_t i, size_t j, size_t k, const std::string& reason) {
    if (rejected_++ >= kMaxReasons) return;
    if (!reasons_.empty()) reasons_ += "; ";
    reasons_ += "resource_spans[" + std::to_string(i) + "].scope_spans[" + std::to_string(j) + "].spans[" +
                std::to_string(k) + "]: " + reason;
  }

  std::vector<TracePiece> pieces_;
  std::unordered_map<schema::Id128, size_t, IdHash> by_id_;
  uint64_t accepted_ = 0;
  uint64_t rejected_ = 0;
  std::string reasons_;
};

}  // namespace

bool ToAttributeValue(AnyValue value, AttributeValue* out) {
  *out = AttributeValue();
  return ConvertValue(std::move(value), schema::kMaxAttributeDepth, out);
}

std::string ServiceName(const schema::OtelResource& resource) {
  return std::string(schema::OtelServiceName(resource));
}

MapResult AppendExportRequest(ExportTraceServiceRequest request, engine::WriteBatch* batch) {
  Mapper mapper;
  for (size_t i = 0; i < request.resource_spans.size(); ++i) {
    mapper.AddResourceSpans(std::move(request.resource_spans[i]), i);
  }
  return mapper.Emit(batch);
}

}  // namespace tracedb::ingest::otel
