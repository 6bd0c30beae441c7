#pragma once

// tracedb's query layer: the one front door of query/.
//
// A query string runs through named stages, each in its own files:
//   lexer (lexer.h) -> parser (parser.h, ast.h) -> binder (binder.h,
//   bound.h) -> planner (planner.h) -> executor (executor.h).
// The language is specified in docs/query-language.md. Reflow's
// TraceQuery compiles to the same bound query (CompileTraceQuery), so
// QueryTraces and the language give identical answers.
//
// Thread-safety: every function here is safe to call concurrently; results
// are plain values owned by the caller. The engine must outlive the call.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"
#include "query/bound.h"

namespace tracedb::query {

struct QueryOptions {
  // Traces per page. A `limit N` in the query text takes precedence.
  // Default: 20.
  size_t limit = 20;
  // Traces skipped before the page (Reflow offset). Default: 0.
  size_t offset = 0;
  // The opaque next_cursor of a previous page: the page starts after it.
  // Default: "" (first page).
  std::string cursor;
  // The instant `now` stands for. Default: nullopt (the system clock).
  std::optional<schema::TimestampNs> now_ns;
  // Also count every matching trace (QueryResult::total_count). Costs a
  // full pass over the candidates. Default: false.
  bool count_total = false;
  // Only plan: QueryResult::plan is set and nothing is read but index
  // probes. `explain` in the query text has the same effect. Default: false.
  bool explain = false;
  // Values a flow/actor pattern may expand to before the planner stops
  // using the index for it. Default: 1000.
  size_t max_expanded_values = 1000;
};

// One row of an aggregation: the group key values (as text, in `by` order)
// and one value per aggregate (nullopt: no value, e.g. avg of nothing).
struct AggregateRow {
  std::vector<std::string> group;
  std::vector<std::optional<double>> values;
};

// Work done by a query (for EXPLAIN ANALYZE-like reporting and tests).
struct QueryStats {
  uint64_t candidates = 0;      // index entries examined
  uint64_t headers_read = 0;    // trace headers read
  uint64_t columns_read = 0;    // traces whose column chunks were read
  uint64_t traces_decoded = 0;  // full traces read (GetTrace with events)
  uint64_t chunks_scanned = 0;  // column chunks seen by a column scan
};

struct QueryResult {
  enum class Kind : uint8_t { kTraces, kAggregate, kExplain };
  Kind kind = Kind::kTraces;
  // kTraces: matching trace headers (events not loaded), newest first.
  std::vector<schema::Trace> traces;
  // kTraces: every match, ignoring cursor, offset and limit (when asked).
  std::optional<uint64_t> total_count;
  // kTraces: pass as QueryOptions::cursor for the next page; "" when none.
  std::string next_cursor;
  // kAggregate: column names (group fields, then aggregate labels) and rows
  // ordered by group key.
  std::vector<std::string> columns;
  std::vector<AggregateRow> rows;
  // kExplain (and always filled): the plan as text.
  std::string plan;
  QueryStats stats;
};

// Parses and binds `text` (no engine needed). `now_ns` resolves `now`.
Result<BoundQuery> ParseAndBind(std::string_view text, schema::TimestampNs now_ns);

// Parses, binds, plans and executes `text` against `engine`.
Result<QueryResult> RunQuery(engine::Engine* engine, std::string_view text, const QueryOptions& options = {});

// Plans and executes an already bound query.
Result<QueryResult> Execute(engine::Engine* engine, const BoundQuery& query, const QueryOptions& options = {});

// Reflow TraceQuery, as a plain struct (no JSON codec dependency).
struct TraceQueryFilter {
  std::optional<std::string> flow_id;
  std::optional<schema::Id128> execution_id;
  // [start, end], inclusive, bounds the trace start time.
  std::optional<std::pair<schema::TimestampNs, schema::TimestampNs>> time_range;
  // Equality, including the error text of Failed.
  std::optional<schema::ExecutionStatus> status;
  // Substring of any event's actor.
  std::optional<std::string> actor_filter;
  std::optional<size_t> limit;
  std::optional<size_t> offset;
};

// The bound filter equivalent to `filter` (limit/offset are not part of it).
BoundQuery CompileTraceQuery(const TraceQueryFilter& filter);

// QueryTraces: start DESC, offset then limit (none: all), total_count set
// to the number of matching traces.
Result<QueryResult> RunTraceQuery(engine::Engine* engine, const TraceQueryFilter& filter);

enum class OutputFormat : uint8_t { kTable, kJson, kNdjson };

// Renders a result: traces as (trace_id, flow, status, start, duration,
// source) rows; aggregates as their columns; explain as the plan text.
// kJson is one object {"traces":[...],"total_count":..,"next_cursor":..} or
// {"columns":[...],"rows":[[...]...]}; kNdjson one object per line.
std::string RenderResult(const QueryResult& result, OutputFormat format);

// A trace id as tracedb prints it: 32 lowercase hex digits for an OTel trace
// (the W3C / OTLP form), the hyphenated UUID for every other source.
std::string TraceIdText(const schema::Trace& trace);

// The JSON of an OTel trace and every span, lossless but for NaN payloads:
// {"trace_id","source","service","name","status",["error"],
//  "start_time_unix_nano","end_time_unix_nano","start","spans":[{
//    "trace_id","span_id","parent_span_id"|null,"name","kind","kind_code",
//    "start_time_unix_nano","end_time_unix_nano","duration_ns",
//    "status":{"code","code_value","message"},"trace_state","flags",
//    "attributes","dropped_attributes_count","events","dropped_events_count",
//    "links","dropped_links_count","resource","scope"}]}
// Ids are lowercase hex; attributes are OTLP/JSON KeyValue arrays with typed
// AnyValue objects (intValue and 64-bit times as strings, bytesValue in
// base64, NaN / Infinity as strings). Events without an OtelSpan are skipped.
std::string RenderOtelTraceJson(const schema::Trace& trace);

}  // namespace tracedb::query
