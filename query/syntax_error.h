#pragma once

// Error messages that point into the query text, DuckDB style:
//
//   error at 1:8: expected a value after '='
//     flow = and x
//            ^
//
// Every stage before execution (lexer, parser, binder) reports through
// SyntaxError so that a message always carries a line, a column and a caret.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tracedb::query {

// An InvalidArgument status whose message is "error at L:C: <message>",
// followed by the offending line of `text` and a caret under byte `offset`
// (clamped to the text). Lines and columns count from 1; a column counts
// bytes. Long lines are cut to a window around the caret.
Status SyntaxError(std::string_view text, size_t offset, std::string_view message);

}  // namespace tracedb::query
