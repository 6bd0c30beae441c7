#include "schema/hot_fields.h"

#include <simdjson.h>

#include <cmath>

namespace tracedb::schema {

EventStatusCode ParseEventStatus(std::string_view s) {
  if (s == "ok") return EventStatusCode::kOk;
  if (s == "error") return EventStatusCode::kError;
  if (s == "cancelled") return EventStatusCode::kCancelled;
  if (s == "truncated") return EventStatusCode::kTruncated;
  return EventStatusCode::kNone;
}

std::string_view OtelServiceName(const OtelResource& resource) {
  for (const auto& [key, value] : resource.attributes) {
    if (key == "service.name" && value.kind == AttributeValue::Kind::kString) return value.str;
  }
  return kUnknownService;
}

namespace {

std::optional<uint64_t> MsToNs(double ms) {
  if (!std::isfinite(ms) || ms < 0 || ms > 1.8e13) return std::nullopt;
  return static_cast<uint64_t>(std::llround(ms * 1e6));
}

// Reads duration_ms, status and size_bytes from an operonx payload. The
// payload is small and read once per event at write time.
void ExtractOperonx(const OperonxEvent& op, HotFields* hot) {
  if (op.payload_json.size() < 2) return;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(op.payload_json).get(root) != simdjson::SUCCESS) return;
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) return;
  for (auto field : obj) {
    std::string_view key = field.key;
    if (key == "duration_ms") {
      double ms;
      if (field.value.get_double().get(ms) == simdjson::SUCCESS) hot->duration_ns = MsToNs(ms);
    } else if (key == "status") {
      std::string_view s;
      if (field.value.get_string().get(s) == simdjson::SUCCESS) hot->status = ParseEventStatus(s);
    } else if (key == "size_bytes") {
      uint64_t n;
      if (field.value.get_uint64().get(n) == simdjson::SUCCESS) hot->size_bytes = n;
    }
  }
}

}  // namespace

HotFields ExtractHotFields(const Event& event) {
  HotFields hot;
  if (event.reflow) {
    const ReflowEventData& r = *event.reflow;
    hot.duration_ns = r.metrics.execution_time_ns;
    if (r.message) hot.size_bytes = r.message->size_bytes;
    if (event.type == EventType::kActorFailed || r.error) {
      hot.status = EventStatusCode::kError;
    } else if (event.type == EventType::kActorCompleted) {
      hot.status = EventStatusCode::kOk;
    }
  } else if (event.operonx) {
    ExtractOperonx(*event.operonx, &hot);
  } else if (event.otel) {
    if (event.otel->end_ns >= event.timestamp_ns) {
      hot.duration_ns = static_cast<uint64_t>(event.otel->end_ns - event.timestamp_ns);
    }
    hot.status = event.otel->status_code == 2 ? EventStatusCode::kError
                 : event.otel->status_code == 1 ? EventStatusCode::kOk
                                                : EventStatusCode::kNone;
    hot.span_kind = event.otel->kind;
  }
  return hot;
}

}  // namespace tracedb::schema
