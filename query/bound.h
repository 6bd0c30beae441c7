#pragma once

// The bound query: names resolved to fields, literals converted to the
// field's type, relative times made absolute. This is the contract between
// the front end (lexer, parser, binder; or a Reflow TraceQuery) and the
// back ends (the RocksDB planner/executor here; later a SQL compiler). It
// holds no engine or RocksDB type on purpose.
//
// Semantics (docs/query-language.md):
//  - a Node of kind kAnyEvent is true when some event of the trace makes its
//    child true; predicates on event fields only ever appear under one;
//  - a predicate on an absent value is false whatever its operator (incl.
//    negated ones), except kExists with negated = true;
//  - kNot negates its child (under kAnyEvent: per event; above it: "no event").

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "schema/model.h"

namespace re2 {
class RE2;
}

namespace tracedb::query {

enum class Scope : uint8_t { kTrace, kEvent };

enum class FieldId : uint8_t {
  // trace header
  kTraceId,
  kRequestId,
  kFlow,
  kExecutionId,
  kSource,
  kStatus,
  kStatusError,
  kStart,
  kEnd,
  kDuration,
  kVersion,
  kEnvironment,
  kHostname,
  kUser,
  kSession,
  kTag,  // path[0] = tag key
  // events (all sources)
  kEventId,
  kTimestamp,
  kType,
  kActor,
  kEventStatus,
  kSizeBytes,
  kExecutionTimeNs,
  // Reflow events
  kPort,
  kToActor,
  kToPort,
  kMessageType,
  kQueueDepth,
  kMemoryUsageBytes,
  kCpuUsagePercent,
  kThroughput,
  kError,
  kAttr,  // custom_attributes; path = JSON keys
  kParentEventId,
  kRootCauseEventId,
  // operonx events
  kKind,
  kOpName,
  kCtx,
  kPayload,  // path = JSON keys
  // OpenTelemetry
  kService,   // trace scope: every service of the trace; event scope: the span's
  kResource,  // span resource attributes; path = key (then kvlist keys / array indexes)
};

// The type literals are converted to.
enum class ValueType : uint8_t {
  kString,
  kInt,        // counts, bytes
  kFloat,
  kTime,       // ns since the epoch
  kDuration,   // ns
  kId,         // 16 bytes, written as a UUID
  kStatus,     // schema::StatusCode
  kEventType,  // schema::EventType
  kEventStatus,  // schema::EventStatusCode
  kVersion,    // major.minor.patch
  kJson,       // dynamic: string, number or bool, from a JSON document or a typed OTel attribute
};

struct Field {
  FieldId id = FieldId::kFlow;
  Scope scope = Scope::kTrace;
  ValueType type = ValueType::kString;
  // Stored in the engine's column chunks (readable without decoding events).
  bool hot = false;
  std::vector<std::string> path;  // tags.X, attr.X.Y, payload.X.Y
  std::string name;               // canonical spelling, e.g. "payload.status"
  // Group keys only: > 0 groups a time field by the start of its
  // bucket_ns-wide bucket (`by (bucket(1m))`); name is then "bucket(1m)".
  int64_t bucket_ns = 0;
};

// A literal after binding.
struct Value {
  enum class Kind : uint8_t { kNull, kBool, kInt, kFloat, kString, kId, kVersion };
  Kind kind = Kind::kNull;
  bool b = false;
  int64_t i = 0;  // kInt, and enum codes (status, event type)
  double d = 0;
  std::string s;
  schema::Id128 id{};
  std::array<uint32_t, 3> version{};

  static Value Int(int64_t v) { Value x; x.kind = Kind::kInt; x.i = v; return x; }
  static Value Float(double v) { Value x; x.kind = Kind::kFloat; x.d = v; return x; }
  static Value String(std::string v) { Value x; x.kind = Kind::kString; x.s = std::move(v); return x; }
  static Value Bool(bool v) { Value x; x.kind = Kind::kBool; x.b = v; return x; }
  static Value Id(const schema::Id128& v) { Value x; x.kind = Kind::kId; x.id = v; return x; }
};

enum class Op : uint8_t {
  kEq,        // negated: !=
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,        // negated: not in
  kRegex,     // RE2, fully anchored; negated: !~
  kGlob,      // '*', '?'; negated: not like
  kContains,  // substring
  kPrefix,    // string prefix; for ctx: segment prefix
  kExists,    // negated: not exists
};

struct Predicate {
  Field field;
  Op op = Op::kEq;
  bool negated = false;
  std::vector<Value> values;  // one, except kIn (one or more) and kExists (none)
  // kRegex: compiled values[0].s. Shared so bound queries copy cheaply.
  std::shared_ptr<const re2::RE2> regex;
};

struct Node {
  enum class Kind : uint8_t { kTrue, kAnd, kOr, kNot, kPredicate, kAnyEvent };
  Kind kind = Kind::kTrue;
  std::vector<Node> children;
  Predicate pred;  // kPredicate
};

enum class AggFunc : uint8_t { kCount, kSum, kAvg, kMin, kMax, kP50, kP90, kP95, kP99 };

struct Aggregate {
  AggFunc func = AggFunc::kCount;
  std::optional<Field> field;  // absent for count()
  std::string label;           // "p99(execution_time_ns)"
};

// Whether aggregate rows are computed over matching traces or over the
// events of matching traces (chosen by the binder: events as soon as an
// aggregated or grouping field is an event field).
enum class AggLevel : uint8_t { kTrace, kEvent };

struct BoundQuery {
  Node filter;  // kTrue: every trace
  bool explain = false;
  std::vector<Aggregate> aggregates;  // empty: a trace search
  std::vector<Field> group_by;
  AggLevel level = AggLevel::kTrace;
  std::optional<int64_t> limit;  // `limit N` in the text
};

// A canonical, re-parseable rendering of a bound filter (for EXPLAIN and
// test messages). Times print as RFC 3339, durations as ns.
std::string ToString(const Node& node);
std::string ToString(const Predicate& pred);

// The canonical name of an event type ("actor_created", "op_end", ...).
std::string_view EventTypeName(schema::EventType type);
// The canonical name of a trace status ("running", ...).
std::string_view StatusName(schema::StatusCode code);
// The canonical name of an event status ("ok", ...; "unset" for kNone, the
// OTLP name of a span without a status).
std::string_view EventStatusName(uint8_t code);

}  // namespace tracedb::query
