#pragma once

// Evaluation of a bound filter against one trace. Used by the executor for
// the predicates no index answered (the residual), by aggregations, and by
// the brute-force reference path of the differential tests.
//
// A trace is seen through a TraceView: its header plus its events, which
// come either from the decoded trace (every field available) or from its
// column chunks (hot fields only; see Field::hot). Both yield identical
// values for hot fields: hot values are derived by schema::ExtractHotFields
// on both paths.

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "query/bound.h"
#include "schema/hot_fields.h"

namespace tracedb::query {

// A field value read from a trace or an event.
struct Datum {
  enum class Kind : uint8_t { kAbsent, kBool, kInt, kFloat, kString, kId, kVersion, kOther };
  Kind kind = Kind::kAbsent;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string s;
  schema::Id128 id{};
  std::array<uint32_t, 3> version{};

  bool present() const { return kind != Kind::kAbsent; }
  // The value as a double, for aggregates (false when not numeric).
  bool AsDouble(double* out) const;
  // Text for group keys and display ("" when absent).
  std::string ToText(const Field& field) const;
};

// One event, whatever it is read from.
class EventView {
 public:
  virtual ~EventView() = default;
  // Precondition: field.scope == kEvent; for column-backed views, field.hot.
  virtual Datum Get(const Field& field) const = 0;
};

// One trace: header and events.
class TraceView {
 public:
  virtual ~TraceView() = default;
  virtual const schema::Trace& header() const = 0;
  // Calls fn for each event until it returns false.
  virtual void ForEachEvent(const std::function<bool(const EventView&)>& fn) const = 0;
};

// Events of a decoded trace (trace.events).
class FullTraceView final : public TraceView {
 public:
  // `trace` must outlive the view.
  explicit FullTraceView(const schema::Trace& trace);
  const schema::Trace& header() const override { return trace_; }
  void ForEachEvent(const std::function<bool(const EventView&)>& fn) const override;

 private:
  const schema::Trace& trace_;
  std::vector<schema::HotFields> hot_;
};

// Events of a trace read as column chunks (hot fields only).
class ColumnTraceView final : public TraceView {
 public:
  // `header` and `chunks` must outlive the view.
  ColumnTraceView(const schema::Trace& header, const std::vector<engine::ColumnChunk>& chunks)
      : header_(header), chunks_(chunks) {}
  const schema::Trace& header() const override { return header_; }
  void ForEachEvent(const std::function<bool(const EventView&)>& fn) const override;

 private:
  const schema::Trace& header_;
  const std::vector<engine::ColumnChunk>& chunks_;
};

// What evaluating a filter reads.
enum class Needs : uint8_t { kHeader = 0, kColumns = 1, kFullTrace = 2 };
Needs NeedsOf(const Node& node);
Needs NeedsOf(const Field& field);

// A trace field's value. `service` reads the header's flow (the root span's
// service); a predicate on the trace's `service` tests every service of the
// trace instead (TracePredicate).
Datum TraceField(const Field& field, const schema::Trace& trace);
// An event field's value. `trace` is the event's trace: the service of an
// event that is not an OTel span is its trace's flow (absent when null).
Datum EventField(const Field& field, const schema::Event& event, const schema::HotFields& hot,
                 const schema::Trace* trace = nullptr);
// A hot event field's value from row `row` of a column chunk. `trace` is
// the chunk's trace header: the service of an event that is not an OTel span
// is its trace's flow (absent when null).
Datum ColumnField(const Field& field, const engine::ColumnChunk& chunk, size_t row,
                  const schema::Trace* trace = nullptr);

// True for a chunk written before the service column existed that holds
// OTel spans: their services are only in the event records, so a reader of
// event-level `service` must decode the trace (ColumnField would give the
// trace's flow).
bool LacksServiceColumn(const engine::ColumnChunk& chunk);

// True when the predicate holds for `value` (see bound.h for absent values).
bool Matches(const Predicate& pred, const Datum& value);

// A trace-scope predicate. On `service` it holds when some service of the
// trace satisfies it (the flow, and every span's service): the values the
// flow index lists for the trace.
bool TracePredicate(const Predicate& pred, const TraceView& trace);

// The filter over a whole trace.
bool Evaluate(const Node& node, const TraceView& trace);
// The filter for one event (event predicates read `event`, trace predicates
// the header); kAnyEvent must not occur inside `node`.
bool EvaluateOnEvent(const Node& node, const TraceView& trace, const EventView& event);

}  // namespace tracedb::query
