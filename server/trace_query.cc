#include "server/trace_query.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "query/query.h"

namespace tracedb::server {

Result<TraceQueryResult> RunTraceQuery(engine::Engine* engine, const ingest::reflow::TraceQuery& q) {
  query::TraceQueryFilter f;
  f.flow_id = q.flow_id;
  f.execution_id = q.execution_id;
  f.time_range = q.time_range;
  f.status = q.status;
  f.actor_filter = q.actor_filter;
  if (q.limit) f.limit = static_cast<size_t>(std::min<uint64_t>(*q.limit, SIZE_MAX));
  if (q.offset) f.offset = static_cast<size_t>(std::min<uint64_t>(*q.offset, SIZE_MAX));
  TRACEDB_ASSIGN_OR_RETURN(query::QueryResult r, query::RunTraceQuery(engine, f));
  TraceQueryResult result;
  result.total_count = r.total_count.value_or(r.traces.size());
  result.traces.reserve(r.traces.size());
  for (const auto& header : r.traces) {
    // The query layer returns headers; QueryResults carries whole traces.
    TRACEDB_ASSIGN_OR_RETURN(auto trace, engine->GetTrace(header.trace_id));
    if (trace) result.traces.push_back(std::move(*trace));  // else: expired in between
  }
  return result;
}

}  // namespace tracedb::server
