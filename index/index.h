#pragma once

// Access methods over the engine's secondary indexes: the one front door of
// index/.
//
// Every method here composes engine::IndexCursor objects into another
// IndexCursor, so the query planner can stack them freely:
//   - Intersect: leapfrog intersection of several cursors (uses Seek to jump
//     over non-matching stretches; never materializes a range);
//   - Union: k-way merge of several cursors, equal entries yielded once;
//   - ScanValues / ScanMatching: the union of the cursors of several values
//     of one index, the latter expanding a prefix / glob / predicate over the
//     values the engine lists (Engine::ListIndexValues);
//   - Take: stops after N entries (limit pushdown).
// All of them yield entries in engine::IndexBefore order: newest start first,
// then trace id ascending.
//
// Thread-safety: a cursor is not thread-safe; use one per thread. Cursors
// borrow the Engine that produced their inputs, which must outlive them.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"

namespace tracedb::index {

using engine::IndexCursor;
using engine::IndexEntry;
using engine::IndexKind;
using schema::TimestampNs;

// A cursor with no entries.
std::unique_ptr<IndexCursor> Empty();

// A cursor over entries held in memory. `entries` need not be sorted or
// unique: they are sorted into IndexBefore order and deduplicated.
std::unique_ptr<IndexCursor> FromEntries(std::vector<IndexEntry> entries);

// Entries present in every input (leapfrog join). An empty input list gives
// an empty cursor; one input is returned as is. The first error of an input
// is reported by status() and ends the cursor.
std::unique_ptr<IndexCursor> Intersect(std::vector<std::unique_ptr<IndexCursor>> inputs);

// Entries present in any input, each once. An empty input list gives an
// empty cursor; one input is returned as is.
std::unique_ptr<IndexCursor> Union(std::vector<std::unique_ptr<IndexCursor>> inputs);

// At most `n` entries of `input`. Seek() moves the input but does not reset
// the count: the cursor yields n entries in total.
std::unique_ptr<IndexCursor> Take(std::unique_ptr<IndexCursor> input, size_t n);

// The union of the cursors of `values` of index `kind`, each restricted to
// [min_start, max_start] (inclusive).
std::unique_ptr<IndexCursor> ScanValues(engine::Engine* engine, IndexKind kind,
                                        const std::vector<std::string>& values, TimestampNs min_start,
                                        TimestampNs max_start);

// The distinct values of `kind` (kFlow or kActor) that start with `prefix`
// and satisfy `match` (null: all), ascending. Fails with ResourceExhausted
// when more than `max_values` values match, so that a pattern such as "*"
// cannot silently open thousands of cursors.
Result<std::vector<std::string>> ExpandValues(engine::Engine* engine, IndexKind kind, std::string_view prefix,
                                              const std::function<bool(std::string_view)>& match,
                                              size_t max_values);

// ExpandValues followed by ScanValues.
Result<std::unique_ptr<IndexCursor>> ScanMatching(engine::Engine* engine, IndexKind kind,
                                                  std::string_view prefix,
                                                  const std::function<bool(std::string_view)>& match,
                                                  size_t max_values, TimestampNs min_start,
                                                  TimestampNs max_start);

// Advances `cursor` over at most `cap` entries and returns how many it saw
// (a cheap selectivity probe; the cursor is consumed).
size_t CountUpTo(IndexCursor* cursor, size_t cap);

// Glob patterns: '*' matches any run of bytes, '?' one byte, '\' escapes the
// next byte. Matching is linear in |pattern| x |text| worst case, with no
// backtracking blow-up.
bool GlobMatch(std::string_view pattern, std::string_view text);

// The literal bytes every match of `pattern` starts with (up to the first
// unescaped wildcard).
std::string GlobLiteralPrefix(std::string_view pattern);

// True when `pattern` contains an unescaped wildcard.
bool GlobHasWildcard(std::string_view pattern);

}  // namespace tracedb::index
