#pragma once

// Stage 3 of the query pipeline: ast::Query -> BoundQuery. Resolves field
// names (query/fields.h), checks each operator against the field's type,
// converts literals (durations to ns, `now-1h` to an absolute time, status
// and event type names to codes, UUID text to bytes), compiles regexes with
// RE2, and wraps bare event predicates in "some event" nodes.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "query/ast.h"
#include "query/bound.h"

namespace tracedb::query {

// Binds `query` parsed from `text` (used for error carets). `now_ns` is the
// instant `now` stands for.
Result<BoundQuery> Bind(std::string_view text, const ast::Query& query, schema::TimestampNs now_ns);

// Where a field name is read. Some names mean the trace outside an event
// context and the event (span) inside one (docs/query-language.md,
// "Fields that follow the context"): `duration`, `status`, `service`.
// kEvent: inside `event{...}`, or an aggregate whose rows are events.
enum class FieldContext : uint8_t { kTrace, kEvent };

// Resolves a field name path ("payload", "status") to a Field, or nullopt.
std::optional<Field> ResolveField(const std::vector<std::string>& path,
                                  FieldContext context = FieldContext::kTrace);

// One name of the field table, as the binder resolves it in the trace
// context (for listings such as GET /v1/fields; query/fields.h).
struct FieldName {
  std::string_view name;  // static storage
  Scope scope = Scope::kTrace;
  ValueType type = ValueType::kString;
  bool hot = false;
  bool needs_key = false;  // tags.X, attr.X, payload.X, resource.X
};

// Every field name of the binder's table (the alias `workflow` of `flow`
// left out).
std::vector<FieldName> KnownFields();

// The value names of an enumerated type (kStatus, kEventType,
// kEventStatus), in code order; empty for every other type.
std::vector<std::string> EnumValueNames(ValueType type);

}  // namespace tracedb::query
