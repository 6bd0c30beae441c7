#pragma once

// Stage 5 of the query pipeline: runs a Plan.
//
// Searches walk the plan's candidate cursor in newest-first order, apply
// the residual (loading only what it reads: header, column chunks, or the
// whole trace), skip `offset`, fill the page and stop, unless the total is
// wanted. When no residual remains the limit is pushed into the cursor
// (index::Take) and nothing but the page's headers is read.
// Aggregations feed rows to an Aggregator from the same candidates, or
// straight from Engine::ScanColumns when the plan says so.

#include "common/result.h"
#include "engine/engine.h"
#include "query/planner.h"
#include "query/query.h"

namespace tracedb::query {

Result<QueryResult> ExecutePlan(engine::Engine* engine, const BoundQuery& query, const Plan& plan,
                                const QueryOptions& options);

}  // namespace tracedb::query
