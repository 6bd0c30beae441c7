// Reflow TraceQuery -> BoundQuery. QueryTraces runs through the same
// planner and executor as the query language, so both give the same
// answers (reflow-protocol.md §7.4, §8: start DESC, inclusive time range on
// the trace start, status equality including Failed.error, actor_filter as
// a substring of any event's actor, total_count = every match).

#include <optional>

#include "query/binder.h"
#include "query/query.h"

namespace tracedb::query {

namespace {

Node Pred(const char* field, Op op, Value v) {
  Node n;
  n.kind = Node::Kind::kPredicate;
  n.pred.field = *ResolveField({field});
  n.pred.op = op;
  n.pred.values.push_back(std::move(v));
  return n;
}

}  // namespace

BoundQuery CompileTraceQuery(const TraceQueryFilter& f) {
  std::vector<Node> conj;
  if (f.flow_id) conj.push_back(Pred("flow", Op::kEq, Value::String(*f.flow_id)));
  if (f.execution_id) conj.push_back(Pred("execution_id", Op::kEq, Value::Id(*f.execution_id)));
  if (f.time_range) {
    conj.push_back(Pred("start", Op::kGe, Value::Int(f.time_range->first)));
    conj.push_back(Pred("start", Op::kLe, Value::Int(f.time_range->second)));
  }
  if (f.status) {
    conj.push_back(Pred("status", Op::kEq, Value::Int(static_cast<int64_t>(f.status->code))));
    if (f.status->code == schema::StatusCode::kFailed) {
      conj.push_back(Pred("status_error", Op::kEq, Value::String(f.status->error)));
    }
  }
  if (f.actor_filter) {
    Node any;
    any.kind = Node::Kind::kAnyEvent;
    // Every actor contains "": an empty filter only asks for some event.
    any.children.push_back(f.actor_filter->empty() ? Node()
                                                   : Pred("actor", Op::kContains, Value::String(*f.actor_filter)));
    conj.push_back(std::move(any));
  }
  BoundQuery q;
  if (conj.size() == 1) {
    q.filter = std::move(conj[0]);
  } else if (!conj.empty()) {
    q.filter.kind = Node::Kind::kAnd;
    q.filter.children = std::move(conj);
  }
  return q;
}

Result<QueryResult> RunTraceQuery(engine::Engine* engine, const TraceQueryFilter& filter) {
  QueryOptions options;
  options.limit = filter.limit.value_or(std::numeric_limits<size_t>::max());
  options.offset = filter.offset.value_or(0);
  options.count_total = true;
  return Execute(engine, CompileTraceQuery(filter), options);
}

}  // namespace tracedb::query
