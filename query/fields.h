#pragma once

// The fields of the filter language and their most frequent values: what
// a query box completes (GET /v1/fields and GET /v1/fields/{name}/values,
// docs/api.md). The work is done by the ordinary query pipeline, so the
// counts are exactly those of `FILTER | count() by (FIELD)`.
//
// Thread-safety: as query.h. The engine must outlive the call.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"

namespace tracedb::query {

// {"fields":[{"name":"flow","type":"string","scope":"trace","hot":false,
//   "needs_key":false[,"values":["pending",…]]}…]}: every field name of the
// language (docs/query-language.md "Fields"); `values` lists the names of an
// enumerated type (status, type, event_status); `needs_key` marks the
// families written with a key (`tags.region`, `attr.http.route`).
std::string FieldsJson();

struct FieldValuesOptions {
  // A filter (no `| …`) restricting the traces. Default: "" (every trace).
  std::string filter;
  // Bounds on the trace start, inclusive. Default: unbounded. A window
  // bounds the work: without one every trace of the store is read.
  std::optional<schema::TimestampNs> start_ns;
  std::optional<schema::TimestampNs> end_ns;
  // Only values starting with this text (ASCII case-insensitive).
  // Default: "" (all).
  std::string prefix;
  // Values returned, most frequent first. Default: 20.
  size_t limit = 20;
  // The instant `now` in the filter stands for. Default: the system clock.
  std::optional<schema::TimestampNs> now_ns;
};

struct ValueCount {
  std::string value;  // as the language prints it (group-key text)
  uint64_t count = 0;
};

struct FieldValues {
  std::string field;          // canonical name
  bool event_rows = false;    // counts are events (an event field), else traces
  uint64_t distinct = 0;      // distinct values matching the prefix, before the limit
  std::vector<ValueCount> values;  // count descending, then value ascending
};

// The most frequent values of `field` (a language name such as "actor",
// "status" or "attr.http.route") among the traces matching the options:
// `count() by (field)` over traces for a trace field and over events for an
// event field (hot event fields are read from the column chunks, so with no
// filter this is one column scan of the window). Absent values are left
// out. InvalidArgument (with a caret for the filter) on an unknown field or
// a malformed filter.
Result<FieldValues> TopFieldValues(engine::Engine* engine, std::string_view field,
                                   const FieldValuesOptions& options);

// {"field":"actor","rows":"events"|"traces","distinct":N,
//  "values":[{"value":"db","count":126}…]}
std::string FieldValuesJson(const FieldValues& values);

}  // namespace tracedb::query
