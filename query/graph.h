#pragma once

// The data-flow graph of a set of traces (seed 002, issue 14 item 2):
//
//   nodes  Reflow actors and operonx ops (by name), OTel services, with
//          their event count, error count and execution-time percentiles
//          (Reflow execution_time_ns of non-DataFlow events, operonx op_end
//          durations, OTel span durations);
//   edges  Reflow DataFlow events: (actor, port) -> (to_actor, to_port), with
//          message count, bytes (message.size_bytes), errors (events with an
//          error), transfer time p50/p99 (execution_time_ns) and the message
//          types; OTel parent -> child span across two services: one call,
//          errors when the child failed, the child's duration as the time.
//
// The traces are those of a filter (the query language, any source) whose
// start lies in [start_ns, end_ns], as for every search; all their events
// count. Percentiles are nearest rank, as in the language's p50/p99.
// GET /v1/graph, `tracedb graph` and Jaeger's /api/dependencies read it.
//
// Two paths answer (docs/graph.md): without a filter, the whole slots of
// the window come from the aggregates the engine keeps at ingest
// (Engine::ReadGraphAggregates) and only the cut slots at its ends are
// scanned; counts stay exact, percentiles come within the sketch's bound
// (engine::kSketchRelativeError). With a filter, or on a backend without
// aggregates, every matching trace is read (the scan path).
//
// Thread-safety: BuildGraph is safe to call concurrently (the engine is).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/result.h"
#include "engine/engine.h"

namespace tracedb::query {

struct GraphNode {
  std::string id;    // actor, op or service name
  std::string kind;  // "actor", "op" or "service"
  uint64_t events = 0;
  uint64_t errors = 0;
  std::vector<int64_t> exec_ns;  // execution times (unsorted until rendered)
  engine::LatencySketch exec_sketch;  // from aggregates; exec_ns adds to it
};

struct GraphEdge {
  std::string from, from_port, to, to_port;
  uint64_t count = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  std::vector<int64_t> transfer_ns;
  engine::LatencySketch transfer_sketch;  // from aggregates
  std::set<std::string> message_types;
};

// Nearest-rank percentile of a node's execution times / an edge's transfer
// times: exact while only scanned values are held, from the sketch (with
// the scanned values added) once aggregates contributed.
std::optional<int64_t> ExecPercentile(GraphNode* node, double p);
std::optional<int64_t> TransferPercentile(GraphEdge* edge, double p);

// Which path answered a graph (the explain in its JSON).
enum class GraphPath : uint8_t {
  kScan,             // every trace read
  kAggregates,       // only ingest-time aggregates
  kAggregatesScan,   // aggregates for whole slots, the cut ends scanned
};
std::string_view GraphPathName(GraphPath path);  // "scan", "aggregates", "aggregates+scan"

struct Graph {
  std::map<std::string, GraphNode> nodes;  // by id
  // By (from, from_port, to, to_port).
  std::map<std::tuple<std::string, std::string, std::string, std::string>, GraphEdge> edges;
  uint64_t traces = 0;
  GraphPath path = GraphPath::kScan;
  uint64_t aggregate_slots = 0;  // aggregate cells read

  // Adds one trace (read with its events) to the graph.
  void Add(const schema::Trace& trace);
  // Adds the aggregates of a window's whole slots.
  void Add(const engine::GraphAggregates& aggregates);
};

struct GraphOptions {
  std::string filter;  // query-language filter; "" = every trace
  std::optional<schema::TimestampNs> start_ns;
  std::optional<schema::TimestampNs> end_ns;
  std::optional<schema::TimestampNs> now_ns;  // resolves `now` in the filter
  // At most this many traces are read; more is an error naming the limit.
  // Default: 100000.
  size_t max_traces = 100000;
  // Forces the scan path (tests and benchmarks compare the two). Default:
  // false (aggregates when the filter is empty).
  bool force_scan = false;
};

// Runs the filter and aggregates the matching traces. A malformed filter is
// InvalidArgument with the caret; an aggregation in the filter is refused.
Result<Graph> BuildGraph(engine::Engine* engine, const GraphOptions& options);

// Nearest-rank percentile (p in (0, 100]) of `values` (sorted in place);
// nullopt when empty.
std::optional<int64_t> Percentile(std::vector<int64_t>* values, double p);

// {"traces":N,"nodes":[{"id","kind","events","errors","p50_ns","p99_ns"}],
//  "edges":[{"from","from_port","to","to_port","count","bytes","errors",
//  "p50_ns","p99_ns","message_types":[…]}],"path":"scan"|"aggregates"|
//  "aggregates+scan"}; nodes and edges sorted by id.
std::string GraphJson(Graph graph);

// Graphviz DOT: one node per graph node, one labelled edge per edge.
std::string GraphDot(Graph graph);

// SVG laid out by Graphviz: runs `dot -Tsvg` (Debian's graphviz package) as
// a child process on `dot_text`. A separate process rather than libgvc:
// Graphviz's library keeps global state (not thread-safe on the read pool)
// and a layout crash or runaway costs one child, killed after
// kSvgTimeoutSeconds, never the server. Unavailable when dot is missing.
inline constexpr int kSvgTimeoutSeconds = 20;
Result<std::string> GraphSvg(const std::string& dot_text);

// Jaeger's /api/dependencies data: [{"parent","child","callCount"}] summed
// over ports.
std::string DependenciesJson(const Graph& graph);

}  // namespace tracedb::query
