// Fuzzes the query front end: lexer, parser and binder (and the bound
// AST's printer). Any input must yield a bound query or an InvalidArgument
// whose message carries "error at L:C" or a size-limit message; never a
// crash, a hang or unbounded recursion. A bound query's canonical text must
// parse and bind again to the same canonical text.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "query/query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr tracedb::schema::TimestampNs kNow = 1752148800LL * 1000000000LL;
  auto bound = tracedb::query::ParseAndBind(text, kNow);
  if (!bound.ok()) {
    if (bound.status().code() != tracedb::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  std::string canon = tracedb::query::ToString(bound->filter);
  if (canon == "true") return 0;
  auto again = tracedb::query::ParseAndBind(canon, kNow);
  if (!again.ok() || tracedb::query::ToString(again->filter) != canon) std::abort();
  return 0;
}
