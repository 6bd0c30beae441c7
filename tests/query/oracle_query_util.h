#pragma once

// The query side of the oracle (tests/query/oracle_test.cc): random queries
// as a small AST of the test's own, rendered twice, once as tracedb filter
// language text and once as SQL over the tables of oracle_sql_util.h, plus
// the shrinking steps that reduce a failing query. The Generator's methods
// are in oracle_gen_util.cc.
//
// The SQL is written from docs/query-language.md, not from query/: every
// predicate is two-valued (an absent value fails every operator except
// `not exists`), a bare event predicate is EXISTS over the trace's events,
// `event{…}` is one EXISTS for the whole block, `not` above an event
// predicate is NOT EXISTS, results are ordered start DESC then trace id ASC,
// and aggregate rows are traces, or events that satisfy every top-level event
// conjunct when a field of the aggregation is an event field. Percentiles are
// nearest rank: the value at rank ceil(p * n / 100) of the n values in
// ascending order, computed with SQL window functions.

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/query/oracle_sql_util.h"

namespace tracedb::query::oracle {

enum class Kind : uint8_t {
  kString, kId, kTime, kDuration, kInt, kFloat, kStatus, kEventType, kEventStatus, kVersion, kJson,
};

struct FieldDef {
  std::string name;                    // canonical name: the result column name
  std::vector<std::string> spellings;  // documented ways to write it; [0] is the canonical one
  bool event = false;                  // an event field (else a trace field)
  Kind kind = Kind::kString;
  std::string sql;         // value over alias t (tr) or e (ev); for kJson the document
  std::string json_path;   // kJson: "$.a.b"
  std::string short_sql;   // op_name: the short name (matched too)
  bool segment_prefix = false;  // ctx: `prefix` matches whole segments
  bool groupable = false;
  bool aggregatable = false;
};

// Names of the enumerated values, as docs/query-language.md spells them.
struct NamedCode {
  int64_t code;
  const char* name;
};
extern const NamedCode kStatuses[5];
extern const NamedCode kEventStatuses[4];
extern const NamedCode kEventTypes[21];

// 'text' with quotes doubled; `s` in upper case.
std::string SqlQuote(const std::string& s);
std::string Upper(std::string s);

// Every field the oracle covers (docs/query-language.md, "Fields").
const std::vector<FieldDef>& Fields();
const FieldDef* FieldNamed(const std::string& name);

struct Lit {
  enum class Type : uint8_t { kText, kNumber, kBool };
  std::string text;  // as written in the query
  std::string sql;   // the same value in SQL
  std::string raw;   // patterns (like, =~, contains, prefix): the pattern itself
  Type type = Type::kText;
};

enum class Op : uint8_t {
  kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn, kRegex, kNotRegex, kGlob, kNotGlob, kContains, kPrefix, kExists,
  kNotExists,
};

struct Pred {
  const FieldDef* field = nullptr;
  size_t spelling = 0;
  Op op = Op::kEq;
  std::vector<Lit> values;
  bool double_eq = false;  // write '==' for '='
};

struct Node {
  enum class Kind : uint8_t { kPred, kAnd, kOr, kNot, kEvent };
  Kind kind = Kind::kPred;
  Pred pred;                 // kPred
  std::vector<Node> kids;    // kAnd/kOr: >= 1; kNot: 1; kEvent: 0 (empty block) or 1
  bool bare_and_in_or = false;  // render `a and b or c` without parentheses
};

enum class AggFn : uint8_t { kCount, kSum, kAvg, kMin, kMax, kP50, kP90, kP95, kP99 };

struct Agg {
  AggFn fn = AggFn::kCount;
  const FieldDef* field = nullptr;  // null for count()
};

struct Query {
  std::optional<Node> filter;
  std::vector<Agg> aggs;  // empty: a search
  std::vector<const FieldDef*> by;
  std::optional<int64_t> limit;
  bool upper_keywords = false;
  uint64_t knob = 0;  // per-query choices of the runner (page sizes, offsets)
};

std::string Text(const Query& q);
bool EventLevel(const Query& q);

// SQL: every matching trace number `n`, in result order, with `tail`
// appended to the WHERE clause (e.g. a cursor condition) and `limit_sql`
// after the ORDER BY.
std::string SearchSql(const Query& q, const std::string& tail = "", const std::string& limit_sql = "");

// SQL of an aggregation: one row per group, the group key texts first, then
// one column per aggregate (NULL in percentile columns: see PercentileSql).
std::string AggregateSql(const Query& q);
// Rows (key texts..., value) for the percentile aggregate q.aggs[i].
std::string PercentileSql(const Query& q, size_t i);
// "count()", "p99(execution_time_ns)".
std::string AggLabel(const Agg& a);
size_t Percent(AggFn fn);  // 50 for p50 ... ; 0 for the others

// Distinct stored values of each field, from which literals are drawn.
struct Pools {
  std::map<std::string, std::vector<SqlRow>> values;
};
Result<Pools> LoadPools(SqlDb* db);

class Generator {
 public:
  Generator(const Pools& pools, uint64_t seed, int64_t now_ns) : pools_(pools), rng_(seed), now_(now_ns) {}
  Query Next();

 private:
  size_t Pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool Chance(int percent) { return static_cast<int>(rng_() % 100) < percent; }
  const FieldDef* AnyField(bool event);
  Node Conjunct(int depth);
  Node EventInner(int depth);
  Node PredNode(const FieldDef* f);
  Node Leaf(bool event);
  Node StartWindow();
  Query ColumnQuery(Query q);
  Lit Literal(const FieldDef& f);
  Lit Pattern(const FieldDef& f, Op op);
  std::string PoolText(const FieldDef& f);
  const SqlRow* PoolRow(const FieldDef& f);
  Lit TimeLit(int64_t v);
  Lit DurationLit(int64_t v);
  Lit StringLit(const std::string& s);

  const Pools& pools_;
  std::mt19937_64 rng_;
  int64_t now_;
  bool upper_ = false;
};

// Queries one step smaller than q (greedy shrinking tries them in order).
std::vector<Query> Shrinks(const Query& q);

}  // namespace tracedb::query::oracle
