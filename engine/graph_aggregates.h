#pragma once

// Data-flow graph aggregates (docs/graph.md, "Index-backed windows"): what
// the engine maintains at ingest so that the graph of a time window is read
// from a few keys per slot instead of from every event. Backend-neutral
// values, returned by Engine::ReadGraphAggregates.
//
// The figures are those of query/graph.h (the scan path), per cell of
// trace starts (keys.h, "graph": 1 s, 15 s, 5 min and 1 h): nodes (Reflow actors, operonx
// ops, OTel services) with events, errors and an execution-time sketch; edges (Reflow DataFlow (actor, port)
// -> (to_actor, to_port), OTel parent service -> child service) with count,
// bytes, errors, a transfer-time sketch and message types; the trace count.
// Counts are exact; percentiles come from LatencySketch (relative error
// bound kSketchRelativeError).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tracedb::engine {

// Relative accuracy of LatencySketch: a percentile it returns is within
// kSketchRelativeError x |true value| + 1 ns of the exact nearest-rank value.
inline constexpr double kSketchRelativeError = 0.01;

// A mergeable, log-bucketed histogram of int64 durations (the DDSketch
// mapping): bucket i > 0 holds (g^(i-2), g^(i-1)], g = (1+a)/(1-a); 0 holds
// 0; negative values mirror positive ones with -i. Counts may be negative
// while deltas are summed (a removed trace subtracts). Not thread-safe.
class LatencySketch {
 public:
  void Add(int64_t value, int64_t count = 1);
  void Merge(const LatencySketch& other, int64_t sign = 1);
  // Nearest-rank percentile (p in (0, 100]) of the positive-count buckets;
  // nullopt when empty.
  std::optional<int64_t> Percentile(double p) const;
  int64_t count() const;
  bool empty() const { return buckets_.empty(); }
  // (bucket index, count) ascending by index: ascending by value.
  const std::vector<std::pair<int32_t, int64_t>>& buckets() const { return buckets_; }

  // Adds `count` to bucket `index` (as decoded from storage).
  void AddToBucket(int32_t index, int64_t count);

  static int32_t IndexOf(int64_t value);
  // The value a bucket reports: within the relative error of every member.
  static int64_t ValueOf(int32_t index);

 private:
  std::vector<std::pair<int32_t, int64_t>> buckets_;
};

enum class GraphNodeKind : uint8_t {  // Persisted in graph keys: do not renumber.
  kActor = 'a',
  kOp = 'o',
  kService = 's',
};
std::string_view GraphNodeKindName(GraphNodeKind kind);  // "actor", "op", "service"

// One persisted aggregate value (docs/format.md, "graph"). fields: node
// {refs, events, errors}; edge {count, bytes, errors}; traces {count}.
// `refs` counts what mentions a node (its events, edges into it): a node is
// present while refs > 0.
struct GraphValue {
  int64_t fields[3] = {0, 0, 0};
  LatencySketch sketch;
  std::map<std::string, int64_t> types;  // edge message types -> count

  void Merge(const GraphValue& other, int64_t sign = 1);
  bool IsZero() const;
};

std::string EncodeGraphValue(const GraphValue& v);
void AppendGraphValue(std::string* dst, const GraphValue& v);
bool DecodeGraphValue(std::string_view bytes, GraphValue* v);

// A GraphValue being summed from encoded values without building one per
// addition: the sketch is a dense array of bucket counts, message type
// names are views into the encoded bytes (which must outlive it).
struct GraphAccumulator {
  int64_t fields[3] = {0, 0, 0};
  int32_t base = 0;                // sketch bucket index of dense[0]
  std::vector<int64_t> dense;      // sketch bucket counts from `base`
  std::vector<std::pair<std::string_view, int64_t>> types;

  // Adds one encoded GraphValue; false when it is malformed.
  bool AddEncoded(std::string_view bytes);
  bool IsZero() const;
  // The canonical GraphValue encoding (zero buckets and types left out).
  void AppendTo(std::string* dst) const;
  LatencySketch Sketch() const;
};

// One graph cell's aggregates (docs/format.md, "graph"): every node, edge
// and trace count of its slots, as (entry key, GraphValue) pairs ascending
// by entry key (tag + rest, keys.h). A cell is one RocksDB value; merging
// cells is summing the values of equal entry keys.
//   GraphCell := varint(n) (varint(klen) key[klen] varint(vlen) GraphValue[vlen])[n]
void AppendGraphCell(std::string* dst, const std::vector<std::pair<std::string_view, const GraphValue*>>& sorted);

// Sums encoded cells. The cells' bytes must outlive it.
class GraphCellSum {
 public:
  // False when `cell` is malformed.
  bool Add(std::string_view cell);
  // The sum as one cell (entries that summed to zero left out). An entry
  // seen in one cell only is copied as it is.
  void AppendTo(std::string* dst);
  // Calls fn(entry key, value) ascending by entry key, zero sums left out;
  // false (before any call) when a value is malformed.
  template <class Fn>
  bool ForEach(Fn&& fn) {
    std::vector<Entry*> sorted;
    if (!Sorted(&sorted)) return false;
    for (Entry* e : sorted) {
      if (!e->acc.IsZero()) fn(e->key, e->acc);
    }
    return true;
  }
  size_t entries() const { return entries_.size(); }

 private:
  struct Entry {
    std::string_view key;
    std::string_view raw;  // the one encoded value while `summed` is false
    bool summed = false;
    GraphAccumulator acc;
  };
  // Every entry summed into acc, ascending by key.
  bool Sorted(std::vector<Entry*>* out);
  std::deque<Entry> storage_;
  std::unordered_map<std::string_view, Entry*> entries_;
};

struct GraphNodeAggregate {
  std::string id;
  GraphNodeKind kind = GraphNodeKind::kActor;
  uint64_t events = 0;
  uint64_t errors = 0;
  LatencySketch exec_ns;
};

struct GraphEdgeAggregate {
  std::string from, from_port, to, to_port;
  uint64_t count = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  LatencySketch transfer_ns;
  std::vector<std::string> message_types;  // ascending
};

// The graph of the traces whose start lies in [covered_min, covered_max],
// summed over the slots of that range. The caller computes the rest of
// its window ([min, covered_min) and (covered_max, max]) by scanning.
struct GraphAggregates {
  // Empty when the engine answers nothing from aggregates in the window
  // (a backend without them, a store written before they existed, a window
  // shorter than a slot): scan it all.
  std::optional<std::pair<int64_t, int64_t>> covered;
  uint64_t traces = 0;
  uint64_t slots = 0;  // aggregate cells read (for the explain)
  std::vector<GraphNodeAggregate> nodes;  // by (id, kind)
  std::vector<GraphEdgeAggregate> edges;  // by (from, from_port, to, to_port)
};

}  // namespace tracedb::engine
