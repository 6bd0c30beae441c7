#pragma once

// Stage 2 of the query pipeline: tokens -> ast::Query (recursive descent).
//
//   query     := ["explain"] [expr] ["|" aggs ["by" "(" field {"," field} ")"]]
//                ["limit" INT] END
//   expr      := and_expr {"or" and_expr}
//   and_expr  := unary {"and" unary}
//   unary     := "not" unary | "(" expr ")" | "event" "{" [expr] "}" | predicate
//   predicate := field ( cmp value | ["not"] "in" "(" value {"," value} ")"
//                      | ["not"] "like" STRING | "contains" STRING | "prefix" STRING
//                      | "=~" STRING | "!~" STRING | "exists" | "not" "exists" )
//   field     := IDENT {"." (IDENT | STRING | INT)}
//   value     := STRING | INT | FLOAT | DURATION | TIMESTAMP | "true" | "false"
//              | "now" [("+" | "-") DURATION] | "-" (INT | FLOAT | DURATION) | IDENT
//   aggs      := agg {"," agg};  agg := IDENT "(" [field] ")"
//
// Nesting deeper than kMaxDepth and more than kMaxNodes predicates are
// rejected, so no input can exhaust the stack of this or a later stage.

#include <string_view>

#include "common/result.h"
#include "query/ast.h"

namespace tracedb::query {

inline constexpr int kMaxDepth = 64;
inline constexpr size_t kMaxNodes = 4096;

// Parses `text`. Errors are SyntaxError statuses (position and caret).
Result<ast::Query> Parse(std::string_view text);

}  // namespace tracedb::query
