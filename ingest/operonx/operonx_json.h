#pragma once

// JSON codec of operonx 0.8 trace events (operonx-events.md §2, §3, §6, §8):
//
//   event    := {"event_id": str, "request_id": str, "kind": str,
//                "op_name": str|null, "ctx": [str...], "timestamp": RFC 3339,
//                "seq": u64, "payload": {...}}
//   batch    := {"request_id": str,
//                "metadata": {"workflow_name", "user_id", "session_id": str|null,
//                             "tags": [str...]|null, "partial": bool},
//                "events": [event...]}
//   array    := [event...]          (JsonFileExporter's final file)
//
// Tolerance (§8): op_name null or absent; ctx absent or null -> []; payload
// absent or null -> {}; any RFC 3339 timestamp (fraction absent, 6 or 9
// digits, any offset); unknown kinds kept as text (EventType::kOperonxOther);
// unknown fields ignored; metadata absent -> defaults. Required: event_id,
// request_id, kind, timestamp, seq (and the batch's request_id and events).
//
// Mapping onto schema::Event: event_id string as-is; seq; timestamp_ns;
// type from kind; actor = op_name or ""; operonx = {kind, op_name, ctx,
// payload_json (minified JSON text of the payload object)}.
//
// Printing writes keys in the order above, timestamps in the Rust exporter's
// form (6 fraction digits, 9 when the value has sub-microsecond precision)
// and the payload verbatim.
//
// Errors: Status::InvalidArgument "<kind> at byte N (<path>): <detail>", e.g.
// "missing field at byte 0 (events[3]): `seq`". Thread-safe; never throws.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "schema/json_input.h"
#include "schema/model.h"

namespace tracedb::ingest::operonx {

using schema::Event;
using schema::EventType;
using schema::InputPadding;

// One decoded event with the request it belongs to (each event's own
// request_id is authoritative, never the batch's).
struct ParsedEvent {
  std::string request_id;
  Event event;  // event.operonx is set

  friend bool operator==(const ParsedEvent&, const ParsedEvent&) = default;
};

// The `metadata` argument of operonx's Exporter.export().
struct BatchMetadata {
  std::optional<std::string> workflow_name;
  std::optional<std::string> user_id;
  std::optional<std::string> session_id;
  std::vector<std::string> tags;
  bool partial = false;

  friend bool operator==(const BatchMetadata&, const BatchMetadata&) = default;
};

// The batch envelope tracedb's exporter posts.
struct Batch {
  std::string request_id;
  BatchMetadata metadata;
  std::vector<ParsedEvent> events;

  friend bool operator==(const Batch&, const Batch&) = default;
};

// The EventType of an operonx kind string; kOperonxOther when unknown.
EventType EventTypeForKind(std::string_view kind);
// The wire kind of an operonx EventType ("" for non-operonx types).
std::string_view KindForEventType(EventType type);

// Parses one TraceEvent object (e.g. one NDJSON line).
Result<ParsedEvent> ParseEvent(std::string_view json, InputPadding padding = InputPadding::kNone);
// Parses a JSON array of TraceEvent objects.
Result<std::vector<ParsedEvent>> ParseEventArray(std::string_view json,
                                                 InputPadding padding = InputPadding::kNone);
// Parses a batch envelope.
Result<Batch> ParseBatch(std::string_view json, InputPadding padding = InputPadding::kNone);

// Prints one TraceEvent. The kind is event.operonx->kind when set, else the
// kind of event.type; op_name is operonx->op_name (else actor, null when
// empty); ctx and payload come from event.operonx (else [] and {}).
void AppendEvent(std::string_view request_id, const Event& event, std::string* out);
std::string PrintEvent(std::string_view request_id, const Event& event);
void AppendEventArray(const std::vector<ParsedEvent>& events, std::string* out);
void AppendBatch(const Batch& batch, std::string* out);
std::string PrintBatch(const Batch& batch);

}  // namespace tracedb::ingest::operonx
