#pragma once

// Stage 3 of the query pipeline: ast::Query -> BoundQuery. Resolves field
// names (query/fields.h), checks each operator against the field's type,
// converts literals (durations to ns, `now-1h` to an absolute time, status
// and event type names to codes, UUID text to bytes), compiles regexes with
// RE2, and wraps bare event predicates in "some event" nodes.

#include <string_view>

#include "common/result.h"
#include "query/ast.h"
#include "query/bound.h"

namespace tracedb::query {

// Binds `query` parsed from `text` (used for error carets). `now_ns` is the
// instant `now` stands for.
Result<BoundQuery> Bind(std::string_view text, const ast::Query& query, schema::TimestampNs now_ns);

// Resolves a field name path ("payload", "status") to a Field, or nullopt.
std::optional<Field> ResolveField(const std::vector<std::string>& path);

}  // namespace tracedb::query
