#include "query/query.h"

#include <chrono>

#include "query/backend.h"
#include "query/binder.h"
#include "query/executor.h"
#include "query/parser.h"
#include "query/planner.h"

namespace tracedb::query {

Result<BoundQuery> ParseAndBind(std::string_view text, schema::TimestampNs now_ns) {
  TRACEDB_ASSIGN_OR_RETURN(ast::Query parsed, Parse(text));
  return Bind(text, parsed, now_ns);
}

Result<QueryResult> Execute(engine::Engine* engine, const BoundQuery& query, const QueryOptions& options) {
  PlanOptions plan_options;
  plan_options.max_expanded_values = options.max_expanded_values;
  QueryBackend* backend = QueryBackendOf(engine);
  // A backend plans searches itself: no index probes for it.
  plan_options.probe_indexes = backend == nullptr || !query.aggregates.empty();
  TRACEDB_ASSIGN_OR_RETURN(Plan plan, MakePlan(engine, query, plan_options));
  if (backend != nullptr) TRACEDB_RETURN_IF_ERROR(backend->Refine(engine, query, &plan));
  return ExecutePlan(engine, query, plan, options);
}

Result<QueryResult> RunQuery(engine::Engine* engine, std::string_view text, const QueryOptions& options) {
  schema::TimestampNs now = options.now_ns
                                ? *options.now_ns
                                : std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
  TRACEDB_ASSIGN_OR_RETURN(BoundQuery bound, ParseAndBind(text, now));
  return Execute(engine, bound, options);
}

}  // namespace tracedb::query
