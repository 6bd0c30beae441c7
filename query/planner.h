#pragma once

// Stage 4 of the query pipeline: BoundQuery -> Plan.
//
// The planner splits the filter into its top-level conjuncts and turns the
// ones an index can answer into index accesses:
//   start <, <=, >, >=, =        -> the start window of every cursor (exact)
//   trace_id = / in              -> point reads (exact)
//   flow, service = / in / like /
//     =~ / contains / prefix     -> flow index, values expanded (exact; the
//                                   index lists every service of a trace)
//   status = / in                -> status index (exact)
//   execution_id = / in          -> execution index (exact)
//   a positive actor / op_name predicate inside a "some event" conjunct
//                                -> actor index (a superset: re-checked)
// Each access is probed for its size in the window (up to kProbeCap
// entries); the most selective one is always used and every other one whose
// probe did not saturate is intersected with it (leapfrog). Conjuncts not
// answered exactly by a used index form the residual, evaluated per
// candidate trace from the cheapest source that has its fields: the header,
// the column chunks, or the decoded trace.

#include <cstddef>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"
#include "query/bound.h"
#include <functional>
#include <memory>

#include "query/evaluator.h"

namespace tracedb::query {

inline constexpr size_t kProbeCap = 256;
// A saturated index access (>= kProbeCap entries in the window) is still
// intersected when it unions at most this many values.
inline constexpr size_t kMaxIntersectedValues = 8;

struct IndexAccess {
  engine::IndexKind kind = engine::IndexKind::kTime;
  std::vector<std::string> values;  // raw index values, unioned
  std::string description;          // the conjunct it answers, as text
  bool exact = false;               // true: the conjunct needs no re-check
  size_t conjunct = 0;              // position among the top-level conjuncts
  size_t estimate = 0;              // probe count, at most kProbeCap
};

struct Plan {
  enum class Access : uint8_t {
    kEmpty,       // the window or an index proved there is no match
    kTimeScan,    // the time index over the window
    kIndexes,     // the intersection of `used`
    kTraceIds,    // point reads of `trace_ids`
    kColumnScan,  // Engine::ScanColumns over the window (event aggregates)
  };
  Access access = Access::kTimeScan;
  schema::TimestampNs min_start = INT64_MIN;
  schema::TimestampNs max_start = INT64_MAX;
  std::vector<IndexAccess> used;
  std::vector<IndexAccess> unused;  // considered, left to the residual
  std::vector<schema::Id128> trace_ids;
  size_t time_estimate = 0;  // probe of the time index in the window

  // Set by a storage backend's QueryBackend (backend.h): its own cursor over
  // the candidates, replacing `access`, and its EXPLAIN text.
  std::function<Result<std::unique_ptr<engine::IndexCursor>>()> backend_access;
  std::string backend_text;

  Node residual;  // kTrue: the access answers the filter exactly
  Needs residual_needs = Needs::kHeader;

  // Aggregations: the per-event filter (children of the top-level "some
  // event" conjuncts) and what computing the rows reads.
  bool aggregate = false;
  Node event_filter;
  Needs aggregate_needs = Needs::kHeader;
  // The rows read event-level `service`: a column scan reads the header of
  // a trace whose chunk has events that are not spans (their service is the
  // trace's flow), and gives way to the per-trace path on a chunk from
  // before the service column (LacksServiceColumn).
  bool reads_service = false;
};

struct PlanOptions {
  // Upper bound of values a pattern may expand to before the planner falls
  // back to checking the pattern per trace. Default: 1000.
  size_t max_expanded_values = 1000;
  // Probe the index accesses for their sizes (which drives, what to
  // intersect, whether nothing can match). A backend that plans searches
  // itself (backend.h) turns it off: its probes would be queries. Default:
  // true.
  bool probe_indexes = true;
};

// Chooses the access path and residual. Reads the engine only to list index
// values and to probe index sizes.
Result<Plan> MakePlan(engine::Engine* engine, const BoundQuery& query, const PlanOptions& options = {});

// A cursor over the plan's candidate traces (kTimeScan, kIndexes, kEmpty;
// kTraceIds: the ids' entries, read from their headers).
Result<std::unique_ptr<engine::IndexCursor>> OpenAccess(engine::Engine* engine, const Plan& plan);

// EXPLAIN text: access path, window, estimates, residual and its source.
std::string ExplainPlan(const Plan& plan, const BoundQuery& query);

}  // namespace tracedb::query
