#pragma once

// Internal to engine/: how the write path turns events into graph aggregate
// deltas (keys.h, "graph"), and the graph column family's merge operator.
// The figures mirror query/graph.cc's scan (tests/query/graph_test.cc
// checks that they agree).

#include <rocksdb/merge_operator.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/string_hash.h"
#include "engine/graph_aggregates.h"
#include "schema/hot_fields.h"
#include "schema/model.h"

namespace tracedb::engine {

// Deltas of one write batch, by full graph key. Not thread-safe.
class GraphDelta {
 public:
  // `prefix` is keys::GraphPrefix of the trace; `sign` +1 adds, -1 removes.
  void AddTrace(std::string_view prefix, int64_t sign);
  // A Reflow trace's event: its actor node, and for a DataFlow its edge and
  // the target's node.
  void AddReflowEvent(std::string_view prefix, const schema::Event& e, int64_t sign);
  // An operonx trace's event: op_start counts a run, op_end errors and time.
  void AddOperonxEvent(std::string_view prefix, const schema::Event& e, const schema::HotFields& hot,
                       int64_t sign);
  // An OTel trace's span: its service node (span count, errors, duration).
  void AddOtelSpan(std::string_view prefix, std::string_view service, const schema::Event& e, int64_t sign);
  // One call parent service -> child service (child error, child duration).
  void AddOtelCall(std::string_view prefix, std::string_view parent, std::string_view child, bool error,
                   int64_t duration_ns, int64_t sign);
  // Every figure of a whole trace (events with timestamps), as the scan
  // counts it.
  void AddWholeTrace(std::string_view prefix, schema::Source source, const std::vector<schema::Event>& events,
                     int64_t sign);

  bool empty() const { return values_.empty(); }
  void Clear() { values_.clear(); }
  const StringMap<GraphValue>& values() const { return values_; }

 private:
  GraphValue& At();  // the value of the key in scratch_
  GraphValue& Node(std::string_view prefix, GraphNodeKind kind, std::string_view id);

  std::string scratch_;
  StringMap<GraphValue> values_;
};

// The service of an OTel span (schema::OtelServiceName of its resource).
std::string_view SpanService(const schema::Event& e);

// What the write path must remember of an OTel trace to find its calls as
// spans arrive in any order: each span's service, and the children whose
// parent has not arrived yet. Rebuilt from the stored spans when a trace's
// state is reloaded.
struct OtelGraphState {
  struct Pending {
    std::string service;
    bool error = false;
    int64_t duration_ns = 0;
  };
  std::unordered_map<uint64_t, std::string> service_of;  // span id -> service
  std::unordered_multimap<uint64_t, Pending> waiting;    // parent span id -> children

  // Records a span; when `delta` is set, adds its node figures and every call
  // it completes (to its parent, from its waiting children).
  void AddSpan(const schema::Event& e, std::string_view prefix, GraphDelta* delta);
};

// The graph column family's merge operator: values add up (GraphValue).
std::shared_ptr<rocksdb::MergeOperator> NewGraphMergeOperator();

}  // namespace tracedb::engine
