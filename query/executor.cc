#include "query/executor.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "index/index.h"
#include "query/aggregator.h"
#include "query/page_token.h"

namespace tracedb::query {

namespace {

bool SamePosition(const engine::IndexEntry& a, const engine::IndexEntry& b) {
  return a.start_ns == b.start_ns && a.trace_id == b.trace_id;
}

size_t SaturatingAdd(size_t a, size_t b) {
  return a > std::numeric_limits<size_t>::max() - b ? std::numeric_limits<size_t>::max() : a + b;
}

// One candidate trace loaded to the level a stage needs.
class LoadedTrace {
 public:
  // Loads `id`; false in *found when it vanished (expired, replaced).
  Status Load(engine::Engine* engine, const schema::Id128& id, Needs needs, QueryStats* stats, bool* found) {
    chunks_.clear();
    view_.reset();
    engine::ReadOptions ro;
    ro.include_events = needs == Needs::kFullTrace;
    TRACEDB_ASSIGN_OR_RETURN(auto t, engine->GetTrace(id, ro));
    *found = t.has_value();
    if (!t) return Status::OK();
    trace_ = std::move(*t);
    if (needs == Needs::kFullTrace) {
      ++stats->traces_decoded;
      view_ = std::make_unique<FullTraceView>(trace_);
      return Status::OK();
    }
    ++stats->headers_read;
    if (needs == Needs::kColumns) {
      ++stats->columns_read;
      bool lacks_services = false;
      TRACEDB_RETURN_IF_ERROR(engine->ReadColumnsAt(id, trace_.start_ns, [&](const engine::ColumnChunk& c) {
        lacks_services = lacks_services || LacksServiceColumn(c);
        chunks_.push_back(c);
        return true;
      }));
      // Spans stored before the service column: their services are read
      // from the decoded trace (every other hot field agrees on both paths).
      if (lacks_services) return Load(engine, id, Needs::kFullTrace, stats, found);
    }
    view_ = std::make_unique<ColumnTraceView>(trace_, chunks_);
    return Status::OK();
  }

  const TraceView& view() const { return *view_; }
  schema::Trace TakeHeader() {
    schema::Trace h = std::move(trace_);
    h.events.clear();
    return h;
  }

 private:
  schema::Trace trace_;
  std::vector<engine::ColumnChunk> chunks_;
  std::unique_ptr<TraceView> view_;
};

// Counts every match of the plan from the first candidate.
Result<uint64_t> CountAll(engine::Engine* engine, const Plan& plan, QueryStats* stats) {
  TRACEDB_ASSIGN_OR_RETURN(auto cursor, OpenAccess(engine, plan));
  bool exact = plan.residual.kind == Node::Kind::kTrue;
  uint64_t n = 0;
  LoadedTrace loaded;
  for (; cursor->Valid(); cursor->Next()) {
    ++stats->candidates;
    if (!exact) {
      bool found;
      TRACEDB_RETURN_IF_ERROR(loaded.Load(engine, cursor->entry().trace_id, plan.residual_needs, stats, &found));
      if (!found || !Evaluate(plan.residual, loaded.view())) continue;
    }
    ++n;
  }
  TRACEDB_RETURN_IF_ERROR(cursor->status());
  return n;
}

Status Search(engine::Engine* engine, const BoundQuery& query, const Plan& plan, const QueryOptions& options,
              QueryResult* result) {
  result->kind = QueryResult::Kind::kTraces;
  size_t limit = query.limit ? static_cast<size_t>(*query.limit) : options.limit;
  std::optional<engine::IndexEntry> after;
  if (!options.cursor.empty()) {
    TRACEDB_ASSIGN_OR_RETURN(after, DecodePageToken(options.cursor));
  }
  TRACEDB_ASSIGN_OR_RETURN(auto cursor, OpenAccess(engine, plan));
  if (after) {
    cursor->Seek(*after);
    if (cursor->Valid() && SamePosition(cursor->entry(), *after)) cursor->Next();
  }
  bool exact = plan.residual.kind == Node::Kind::kTrue;
  bool count_here = options.count_total && !after;
  if (exact && !count_here) {
    // Limit pushdown: offset + page + one more to learn whether a next
    // page exists.
    cursor = index::Take(std::move(cursor), SaturatingAdd(SaturatingAdd(options.offset, limit), 1));
  }
  uint64_t matched = 0;
  bool more = false;
  engine::IndexEntry last;
  LoadedTrace loaded;
  for (; cursor->Valid(); cursor->Next()) {
    const engine::IndexEntry entry = cursor->entry();
    ++result->stats.candidates;
    bool have_header = false;
    if (!exact) {
      bool found;
      TRACEDB_RETURN_IF_ERROR(loaded.Load(engine, entry.trace_id, plan.residual_needs, &result->stats, &found));
      if (!found || !Evaluate(plan.residual, loaded.view())) continue;
      have_header = true;
    }
    ++matched;
    if (matched <= options.offset) continue;
    if (result->traces.size() < limit) {
      if (!have_header) {
        bool found;
        TRACEDB_RETURN_IF_ERROR(loaded.Load(engine, entry.trace_id, Needs::kHeader, &result->stats, &found));
        if (!found) {
          --matched;
          continue;
        }
      }
      result->traces.push_back(loaded.TakeHeader());
      last = entry;
      continue;
    }
    more = true;
    if (!count_here) break;
  }
  TRACEDB_RETURN_IF_ERROR(cursor->status());
  if (more && !result->traces.empty()) result->next_cursor = EncodePageToken(last);
  if (count_here) {
    result->total_count = matched;
  } else if (options.count_total) {
    TRACEDB_ASSIGN_OR_RETURN(uint64_t total, CountAll(engine, plan, &result->stats));
    result->total_count = total;
  }
  return Status::OK();
}

// A trace view with a header only, for event filters without trace fields.
class NoTraceView final : public TraceView {
 public:
  const schema::Trace& header() const override { return header_; }
  void ForEachEvent(const std::function<bool(const EventView&)>&) const override {}

 private:
  schema::Trace header_;
};

// The header of the trace whose chunks a column scan is in, read when a
// row's event-level service is its trace's flow (an event that is not a
// span). Chunks of one trace come together, so one header read per trace.
class FlowLookup {
 public:
  // The header of chunk.trace_id, or nullptr when the trace vanished.
  Result<const schema::Trace*> Header(engine::Engine* engine, const engine::ColumnChunk& chunk, QueryStats* stats) {
    if (!valid_ || id_ != chunk.trace_id) {
      engine::ReadOptions ro;
      ro.include_events = false;
      TRACEDB_ASSIGN_OR_RETURN(header_, engine->GetTrace(chunk.trace_id, ro));
      ++stats->headers_read;
      id_ = chunk.trace_id;
      valid_ = true;
    }
    return header_ ? &*header_ : nullptr;
  }

 private:
  bool valid_ = false;
  schema::Id128 id_{};
  std::optional<schema::Trace> header_;
};

bool HasNonSpanRows(const engine::ColumnChunk& chunk) {
  return chunk.service.empty() ||
         std::find(chunk.service.begin(), chunk.service.end(), schema::Columns::kNoService) != chunk.service.end();
}

// Aggregates the rows of every chunk in the window. False in *complete when
// a chunk from before the service column holds spans and the plan reads
// their service: the caller then aggregates trace by trace instead.
Status ColumnScan(engine::Engine* engine, const Plan& plan, Aggregator* agg, QueryStats* stats, bool* complete) {
  NoTraceView none;
  FlowLookup flows;
  Status status;
  *complete = true;
  TRACEDB_RETURN_IF_ERROR(engine->ScanColumns(plan.min_start, plan.max_start, [&](const engine::ColumnChunk& chunk) {
    ++stats->chunks_scanned;
    const schema::Trace* trace = nullptr;
    if (plan.reads_service) {
      if (LacksServiceColumn(chunk)) {
        *complete = false;
        return false;
      }
      if (HasNonSpanRows(chunk)) {
        Result<const schema::Trace*> header = flows.Header(engine, chunk, stats);
        if (!header.ok()) {
          status = header.status();
          return false;
        }
        if (*header == nullptr) return true;  // expired or replaced during the scan
        trace = *header;
      }
    }
    for (size_t row = 0; row < chunk.size(); ++row) {
      auto get = [&](const Field& f) { return ColumnField(f, chunk, row, trace); };
      if (plan.event_filter.kind != Node::Kind::kTrue) {
        // Only hot event fields occur here (the planner checked).
        class RowView final : public EventView {
         public:
          RowView(const engine::ColumnChunk& c, size_t r, const schema::Trace* t) : c_(c), r_(r), t_(t) {}
          Datum Get(const Field& f) const override { return ColumnField(f, c_, r_, t_); }
          const engine::ColumnChunk& c_;
          size_t r_;
          const schema::Trace* t_;
        } view(chunk, row, trace);
        if (!EvaluateOnEvent(plan.event_filter, none, view)) continue;
      }
      agg->Add(get);
    }
    return true;
  }));
  return status;
}

// Aggregates the plan's candidate traces one by one.
Status TraceRows(engine::Engine* engine, const BoundQuery& query, const Plan& plan, Aggregator* agg,
                 QueryStats* stats) {
  TRACEDB_ASSIGN_OR_RETURN(auto cursor, OpenAccess(engine, plan));
  Needs needs = std::max(plan.residual_needs, plan.aggregate_needs);
  LoadedTrace loaded;
  for (; cursor->Valid(); cursor->Next()) {
    ++stats->candidates;
    bool found;
    TRACEDB_RETURN_IF_ERROR(loaded.Load(engine, cursor->entry().trace_id, needs, stats, &found));
    if (!found || !Evaluate(plan.residual, loaded.view())) continue;
    const TraceView& view = loaded.view();
    if (query.level == AggLevel::kTrace) {
      agg->Add([&](const Field& f) { return TraceField(f, view.header()); });
      continue;
    }
    view.ForEachEvent([&](const EventView& ev) {
      if (EvaluateOnEvent(plan.event_filter, view, ev)) {
        agg->Add([&](const Field& f) { return f.scope == Scope::kEvent ? ev.Get(f) : TraceField(f, view.header()); });
      }
      return true;
    });
  }
  return cursor->status();
}

Status AggregateRows(engine::Engine* engine, const BoundQuery& query, const Plan& plan, QueryResult* result) {
  result->kind = QueryResult::Kind::kAggregate;
  std::optional<Aggregator> agg(std::in_place, query);
  bool complete = false;
  if (plan.access == Plan::Access::kColumnScan) {
    TRACEDB_RETURN_IF_ERROR(ColumnScan(engine, plan, &*agg, &result->stats, &complete));
  }
  if (!complete) {
    // Not a column scan, or one that met spans stored before the service
    // column: every candidate trace of the window, from its cheapest source.
    Plan by_trace = plan;
    if (by_trace.access == Plan::Access::kColumnScan) by_trace.access = Plan::Access::kTimeScan;
    agg.emplace(query);
    TRACEDB_RETURN_IF_ERROR(TraceRows(engine, query, by_trace, &*agg, &result->stats));
  }
  result->columns = agg->Columns();
  result->rows = agg->Rows();
  if (query.limit && result->rows.size() > static_cast<size_t>(*query.limit)) {
    result->rows.resize(static_cast<size_t>(*query.limit));
  }
  return Status::OK();
}

}  // namespace

Result<QueryResult> ExecutePlan(engine::Engine* engine, const BoundQuery& query, const Plan& plan,
                                const QueryOptions& options) {
  QueryResult result;
  result.plan = ExplainPlan(plan, query);
  if (query.explain || options.explain) {
    result.kind = QueryResult::Kind::kExplain;
    return result;
  }
  if (query.aggregates.empty()) {
    TRACEDB_RETURN_IF_ERROR(Search(engine, query, plan, options, &result));
  } else {
    TRACEDB_RETURN_IF_ERROR(AggregateRows(engine, query, plan, &result));
  }
  return result;
}

}  // namespace tracedb::query
