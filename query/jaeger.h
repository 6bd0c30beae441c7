#pragma once

// The Jaeger view of tracedb traces: the mapping of every source onto
// Jaeger's span model, its JSON rendering (Jaeger's query-service shapes,
// `model/json`), and the compilation of a Jaeger trace search into the
// filter language. The HTTP side (parameters, envelope, errors) is
// server/jaeger_api.h. docs/jaeger-api.md documents the mapping:
//
//   OTel     one Jaeger span per span; a process per distinct resource;
//            attributes typed; kind, status and scope as tags; span events
//            as logs; the parent as CHILD_OF, links as FOLLOWS_FROM.
//   Reflow   a root span for the flow (the trace's lifetime) and one span per
//            actor (first to last event), CHILD_OF the root; every event is
//            a log of its actor's span; a DataFlow adds a FOLLOWS_FROM from
//            the receiver's span to the sender's and the dataflow.* tags;
//            a failed actor is error=true.
//   operonx  the request tree of query/operonx_views.h (BuildTree): the
//            request is the root span, every op run (op_start .. op_end) a
//            span nested under its yield / graph container; op status as
//            tags (error=true on error); llm_usage payloads as llm.* tags of
//            the op; the op's events as logs.
//
// Thread-safety: pure functions over values.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "schema/model.h"

namespace tracedb::query::jaeger {

// A Jaeger KeyValue ({key, type, value}).
struct Tag {
  enum class Type : uint8_t { kString, kBool, kInt64, kFloat64, kBinary };
  std::string key;
  Type type = Type::kString;
  std::string str;  // kString; kBinary: the raw bytes
  int64_t i = 0;    // kInt64; kBool: 0 or 1
  double d = 0;     // kFloat64

  static Tag String(std::string key, std::string value);
  static Tag Bool(std::string key, bool value);
  static Tag Int(std::string key, int64_t value);
  static Tag Float(std::string key, double value);
};

struct Log {
  int64_t timestamp_us = 0;
  std::vector<Tag> fields;
};

struct Reference {
  enum class Type : uint8_t { kChildOf, kFollowsFrom };
  Type type = Type::kChildOf;
  std::string trace_id;  // hex
  std::string span_id;   // hex
};

struct Span {
  std::string span_id;  // 16 hex digits
  std::string operation;
  std::vector<Reference> references;  // the parent (CHILD_OF) first
  uint32_t flags = 0;
  int64_t start_us = 0;
  int64_t duration_us = 0;
  std::vector<Tag> tags;
  std::vector<Log> logs;
  std::string process_id;  // a key of Trace::processes
  // The Jaeger span kind ("server", "client", "producer", "consumer",
  // "internal") or "" when the source has none: /api/operations.
  std::string kind;
  // The synthetic root of a Reflow flow or an operonx request: its
  // operation is the flow's name, which the actor index does not hold, so
  // it is not offered as a searchable operation.
  bool synthetic_root = false;
};

struct Process {
  std::string service;
  std::vector<Tag> tags;
};

struct Trace {
  std::string trace_id;  // 32 hex digits
  std::vector<Span> spans;
  std::vector<std::pair<std::string, Process>> processes;  // "p1", "p2"… in first-use order
  std::vector<std::string> warnings;

  // The service of `span`'s process ("" when unknown).
  const std::string& ServiceOf(const Span& span) const;
};

// Maps a trace read with its events (Engine::GetTrace) onto Jaeger spans.
Trace ToJaeger(const schema::Trace& trace);

// Appends the Jaeger JSON of `trace` ({traceID, spans, processes, warnings}).
void AppendTraceJson(const Trace& trace, std::string* out);

// One operation of a service: the span name and its kind ("" when none).
struct Operation {
  std::string name;
  std::string kind;
  friend auto operator<=>(const Operation&, const Operation&) = default;
};

// The searchable operations of `service` in `trace` (unsorted, may repeat;
// synthetic roots left out).
void CollectOperations(const Trace& trace, std::string_view service, std::vector<Operation>* out);

// A Jaeger trace search (GET /api/traces) after its parameters were parsed.
struct SearchParams {
  std::string service;
  std::string operation;  // "": any
  std::vector<std::pair<std::string, std::string>> tags;
  std::optional<int64_t> start_ns;  // trace start window, inclusive
  std::optional<int64_t> end_ns;
  std::optional<int64_t> min_duration_ns;  // span duration
  std::optional<int64_t> max_duration_ns;
};

// The filter-language text of a search, so that it runs through the same
// parser, binder, planner and indexes as any query: the service through the
// flow index, the operation through the actor index, and one span (an
// event{…} block) that has the operation, the service, the duration bounds
// and every tag. A tag k=v matches the span attribute or resource attribute
// k with the string v, or with the number / bool v spells; error=true also
// matches a span whose status is error.
std::string SearchFilter(const SearchParams& params);

// Parses a Go duration ("15ms", "1.5s", "1h30m", "300us", "2µs"; a
// lone "0" is zero) into nanoseconds. Jaeger's UI lookbacks also use "d"
// (days), accepted here too.
Result<int64_t> ParseGoDuration(std::string_view text);

}  // namespace tracedb::query::jaeger
