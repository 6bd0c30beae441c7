#pragma once

// The hot fields of an event: the values filters and aggregates read most,
// which the engine stores in column chunks (docs/format.md, "Columns").
// Deriving them is source-specific and lives here, next to the model, so the
// engine and the query layer's brute-force evaluator agree.

#include <cstdint>
#include <optional>
#include <string_view>

#include "schema/model.h"

namespace tracedb::schema {

// Event-level status. Persisted in column chunks: do not renumber.
enum class EventStatusCode : uint8_t { kNone = 0, kOk = 1, kError = 2, kCancelled = 3, kTruncated = 4 };

struct HotFields {
  // Reflow execution_time_ns; operonx op_end payload.duration_ms x 1e6
  // (rounded); OTel end - start.
  std::optional<uint64_t> duration_ns;
  // Reflow message.size_bytes; operonx media_ref payload.size_bytes.
  std::optional<uint64_t> size_bytes;
  // Reflow: ActorFailed or an error -> kError, ActorCompleted -> kOk;
  // operonx: payload.status of op_end / group_end; OTel: status code 2 ->
  // kError, 1 -> kOk, else kNone.
  EventStatusCode status = EventStatusCode::kNone;
  // OTel: the OTLP SpanKind (0 unspecified, 1 internal, 2 server, 3 client,
  // 4 producer, 5 consumer); 0 for every other source.
  uint8_t span_kind = 0;
};

HotFields ExtractHotFields(const Event& event);

// The service of spans whose resource has no `service.name` (the name the
// OpenTelemetry SDK specification gives them).
inline constexpr std::string_view kUnknownService = "unknown_service";

// The service of an OTel resource: its `service.name` string attribute, else
// kUnknownService. The view is valid while `resource` is.
std::string_view OtelServiceName(const OtelResource& resource);

// Maps an operonx status string ("ok", "error", "cancelled", "truncated").
EventStatusCode ParseEventStatus(std::string_view s);

}  // namespace tracedb::schema
