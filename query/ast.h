#pragma once

// Stage 2 output: the parsed, unbound syntax tree. Names are still text and
// literals still untyped; every node remembers its byte offset so that the
// binder can point at the text.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tracedb::query::ast {

struct FieldRef {
  std::vector<std::string> path;  // {"payload", "status"}
  size_t pos = 0;
};

struct Literal {
  enum class Kind : uint8_t { kString, kInt, kFloat, kBool, kDuration, kTimestamp, kNow, kWord };
  Kind kind = Kind::kString;
  std::string s;   // kString, kWord (a bare identifier such as `failed`)
  int64_t i = 0;   // kInt, kDuration (ns), kTimestamp (ns), kNow (offset ns)
  double d = 0;    // kFloat
  bool b = false;  // kBool
  size_t pos = 0;
};

enum class CompareOp : uint8_t {
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,
  kNotIn,
  kMatch,
  kNotMatch,
  kLike,
  kNotLike,
  kContains,
  kPrefix,
  kExists,
  kNotExists,
};

struct Expr {
  enum class Kind : uint8_t { kAnd, kOr, kNot, kCompare, kEvent };
  Kind kind = Kind::kCompare;
  std::vector<std::unique_ptr<Expr>> children;  // kAnd, kOr (2+), kNot (1), kEvent (0 or 1)
  FieldRef field;                               // kCompare
  CompareOp op = CompareOp::kEq;                // kCompare
  std::vector<Literal> values;                  // kCompare
  size_t pos = 0;
};

struct AggCall {
  std::string func;
  std::optional<FieldRef> arg;
  size_t pos = 0;
};

// One key of `by (…)`: a field, or `bucket([field,] width)`, the start of
// the width-wide time bucket a time field falls in.
struct GroupKey {
  FieldRef field;  // bucket(width) alone: path empty (the binder picks the time)
  std::optional<int64_t> bucket_ns;  // set for bucket(…): the width in ns
  size_t width_pos = 0;              // the width's offset (for errors)
};

struct Query {
  bool explain = false;
  std::unique_ptr<Expr> filter;  // null: every trace
  std::vector<AggCall> aggregates;
  std::vector<GroupKey> group_by;
  std::optional<int64_t> limit;
};

}  // namespace tracedb::query::ast
