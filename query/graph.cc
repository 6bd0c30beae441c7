#include "query/graph.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "query/binder.h"
#include "query/query.h"
#include "schema/hot_fields.h"
#include "schema/json_writer.h"

namespace tracedb::query {

namespace {

GraphNode& NodeFor(Graph* g, const std::string& id, const char* kind) {
  auto [it, added] = g->nodes.try_emplace(id);
  if (added) {
    it->second.id = id;
    it->second.kind = kind;
  }
  return it->second;
}

GraphEdge& EdgeFor(Graph* g, const std::string& from, const std::string& from_port, const std::string& to,
                   const std::string& to_port) {
  auto [it, added] = g->edges.try_emplace({from, from_port, to, to_port});
  if (added) {
    it->second.from = from;
    it->second.from_port = from_port;
    it->second.to = to;
    it->second.to_port = to_port;
  }
  return it->second;
}

void AddReflow(const schema::Trace& t, Graph* g) {
  for (const auto& e : t.events) {
    if (e.actor.empty()) continue;
    const schema::ReflowEventData* r = e.reflow ? &*e.reflow : nullptr;
    bool error = e.type == schema::EventType::kActorFailed || (r && r->error);
    GraphNode& node = NodeFor(g, e.actor, "actor");
    node.events++;
    if (error) node.errors++;
    bool has_exec = r && r->metrics.execution_time_ns.has_value();
    int64_t exec = has_exec ? static_cast<int64_t>(r->metrics.execution_time_ns.value()) : 0;
    if (e.type != schema::EventType::kDataFlow) {
      if (has_exec) node.exec_ns.push_back(exec);
      continue;
    }
    if (e.to_actor.empty()) continue;
    NodeFor(g, e.to_actor, "actor");
    GraphEdge& edge = EdgeFor(g, e.actor, r && r->port ? *r->port : "", e.to_actor, e.to_port);
    edge.count++;
    if (error) edge.errors++;
    if (r && r->message) {
      edge.bytes += r->message->size_bytes;
      edge.message_types.insert(r->message->message_type);
    }
    if (has_exec) edge.transfer_ns.push_back(exec);
  }
}

void AddOperonx(const schema::Trace& t, Graph* g) {
  for (const auto& e : t.events) {
    if (!e.operonx || !e.operonx->op_name || e.operonx->op_name->empty()) continue;
    if (e.type != schema::EventType::kOpStart && e.type != schema::EventType::kOpEnd) continue;
    GraphNode& node = NodeFor(g, *e.operonx->op_name, "op");
    if (e.type == schema::EventType::kOpStart) {
      node.events++;
      continue;
    }
    schema::HotFields hot = schema::ExtractHotFields(e);
    if (hot.status == schema::EventStatusCode::kError) node.errors++;
    if (hot.duration_ns) node.exec_ns.push_back(static_cast<int64_t>(*hot.duration_ns));
  }
}

void AddOtel(const schema::Trace& t, Graph* g) {
  std::map<schema::SpanId, std::string> service_of;
  for (const auto& e : t.events) {
    if (!e.otel) continue;
    static const schema::OtelResource kNone;
    service_of[e.otel->span_id] = std::string(schema::OtelServiceName(e.otel->resource ? *e.otel->resource : kNone));
  }
  for (const auto& e : t.events) {
    if (!e.otel) continue;
    const schema::OtelSpan& s = *e.otel;
    const std::string& service = service_of[s.span_id];
    GraphNode& node = NodeFor(g, service, "service");
    node.events++;
    bool error = s.status_code == 2;
    if (error) node.errors++;
    node.exec_ns.push_back(s.end_ns - e.timestamp_ns);
    if (!s.parent_span_id) continue;
    auto parent = service_of.find(*s.parent_span_id);
    if (parent == service_of.end() || parent->second == service) continue;
    GraphEdge& edge = EdgeFor(g, parent->second, "", service, "");
    edge.count++;
    if (error) edge.errors++;
    edge.transfer_ns.push_back(s.end_ns - e.timestamp_ns);
  }
}

Node StartBound(Op op, schema::TimestampNs v) {
  Node n;
  n.kind = Node::Kind::kPredicate;
  n.pred.field = *ResolveField({"start"});
  n.pred.op = op;
  n.pred.values.push_back(Value::Int(v));
  return n;
}

void WriteOpt(schema::JsonWriter* w, std::optional<int64_t> v) {
  if (v) {
    w->Int(*v);
  } else {
    w->Null();
  }
}

std::string DotQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";  // a line break of a label
      continue;
    }
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string Millis(std::optional<int64_t> ns) {
  if (!ns) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3gms", static_cast<double>(*ns) / 1e6);
  return buf;
}

std::optional<int64_t> SketchPercentile(const engine::LatencySketch& sketch, const std::vector<int64_t>& values,
                                        double p) {
  engine::LatencySketch all = sketch;
  for (int64_t v : values) all.Add(v);
  return all.Percentile(p);
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// Adds the traces matching `filter` whose start lies in [start, end] to
// *graph by reading them.
Status ScanInto(engine::Engine* engine, const GraphOptions& options, schema::TimestampNs now,
                std::optional<schema::TimestampNs> start, std::optional<schema::TimestampNs> end, Graph* graph) {
  TRACEDB_ASSIGN_OR_RETURN(BoundQuery bound, ParseAndBind(options.filter, now));
  Node filter;
  filter.kind = Node::Kind::kAnd;
  filter.children.push_back(std::move(bound.filter));
  if (start) filter.children.push_back(StartBound(Op::kGe, *start));
  if (end) filter.children.push_back(StartBound(Op::kLe, *end));
  bound.filter = std::move(filter);
  bound.limit.reset();
  QueryOptions q;
  q.limit = options.max_traces + 1;
  q.now_ns = now;
  TRACEDB_ASSIGN_OR_RETURN(QueryResult found, Execute(engine, bound, q));
  if (found.traces.size() > options.max_traces) {
    return Status::InvalidArgument("more than " + std::to_string(options.max_traces) +
                                   " traces match: narrow the filter or the time window");
  }
  for (const auto& header : found.traces) {
    TRACEDB_ASSIGN_OR_RETURN(std::optional<schema::Trace> trace, engine->GetTrace(header.trace_id));
    if (trace) graph->Add(*trace);  // expired between the search and the read
  }
  return Status::OK();
}

}  // namespace

std::optional<int64_t> ExecPercentile(GraphNode* node, double p) {
  if (node->exec_sketch.empty()) return Percentile(&node->exec_ns, p);
  return SketchPercentile(node->exec_sketch, node->exec_ns, p);
}

std::optional<int64_t> TransferPercentile(GraphEdge* edge, double p) {
  if (edge->transfer_sketch.empty()) return Percentile(&edge->transfer_ns, p);
  return SketchPercentile(edge->transfer_sketch, edge->transfer_ns, p);
}

std::string_view GraphPathName(GraphPath path) {
  switch (path) {
    case GraphPath::kScan: return "scan";
    case GraphPath::kAggregates: return "aggregates";
    case GraphPath::kAggregatesScan: return "aggregates+scan";
  }
  return "scan";
}

void Graph::Add(const engine::GraphAggregates& aggregates) {
  traces += aggregates.traces;
  aggregate_slots += aggregates.slots;
  for (const auto& n : aggregates.nodes) {
    GraphNode& node = NodeFor(this, n.id, std::string(engine::GraphNodeKindName(n.kind)).c_str());
    node.events += n.events;
    node.errors += n.errors;
    node.exec_sketch.Merge(n.exec_ns);
  }
  for (const auto& e : aggregates.edges) {
    GraphEdge& edge = EdgeFor(this, e.from, e.from_port, e.to, e.to_port);
    edge.count += e.count;
    edge.bytes += e.bytes;
    edge.errors += e.errors;
    edge.transfer_sketch.Merge(e.transfer_ns);
    edge.message_types.insert(e.message_types.begin(), e.message_types.end());
  }
}

void Graph::Add(const schema::Trace& trace) {
  traces++;
  switch (trace.source) {
    case schema::Source::kReflow: AddReflow(trace, this); break;
    case schema::Source::kOperonx: AddOperonx(trace, this); break;
    case schema::Source::kOtel: AddOtel(trace, this); break;
  }
}

std::optional<int64_t> Percentile(std::vector<int64_t>* values, double p) {
  if (values->empty()) return std::nullopt;
  std::sort(values->begin(), values->end());
  size_t n = values->size();
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(n) / 100.0));
  return (*values)[std::clamp<size_t>(rank, 1, n) - 1];
}

Result<Graph> BuildGraph(engine::Engine* engine, const GraphOptions& options) {
  schema::TimestampNs now = options.now_ns.value_or(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  TRACEDB_ASSIGN_OR_RETURN(BoundQuery bound, ParseAndBind(options.filter, now));
  if (!bound.aggregates.empty()) {
    return Status::InvalidArgument("the graph takes a filter, not an aggregation: drop the '| …' part");
  }
  Graph graph;
  const schema::TimestampNs start = options.start_ns.value_or(INT64_MIN);
  const schema::TimestampNs end = options.end_ns.value_or(INT64_MAX);
  // The aggregates know no filter: only an empty one may use them.
  if (!options.force_scan && IsBlank(options.filter) && start <= end) {
    TRACEDB_ASSIGN_OR_RETURN(engine::GraphAggregates agg, engine->ReadGraphAggregates(start, end));
    if (agg.covered) {
      auto [lo, hi] = *agg.covered;
      graph.Add(agg);
      graph.path = GraphPath::kAggregates;
      if (start < lo) {
        TRACEDB_RETURN_IF_ERROR(ScanInto(engine, options, now, options.start_ns, lo - 1, &graph));
        graph.path = GraphPath::kAggregatesScan;
      }
      if (hi < end) {
        TRACEDB_RETURN_IF_ERROR(ScanInto(engine, options, now, hi + 1, options.end_ns, &graph));
        graph.path = GraphPath::kAggregatesScan;
      }
      return graph;
    }
  }
  TRACEDB_RETURN_IF_ERROR(ScanInto(engine, options, now, options.start_ns, options.end_ns, &graph));
  return graph;
}

std::string GraphJson(Graph graph) {
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginObject();
  w.PlainKey("traces");
  w.Uint(graph.traces);
  w.PlainKey("nodes");
  w.BeginArray();
  for (auto& [id, n] : graph.nodes) {
    w.BeginObject();
    w.PlainKey("id");
    w.String(n.id);
    w.PlainKey("kind");
    w.String(n.kind);
    w.PlainKey("events");
    w.Uint(n.events);
    w.PlainKey("errors");
    w.Uint(n.errors);
    w.PlainKey("p50_ns");
    WriteOpt(&w, ExecPercentile(&n, 50));
    w.PlainKey("p99_ns");
    WriteOpt(&w, ExecPercentile(&n, 99));
    w.EndObject();
  }
  w.EndArray();
  w.PlainKey("edges");
  w.BeginArray();
  for (auto& [key, e] : graph.edges) {
    w.BeginObject();
    w.PlainKey("from");
    w.String(e.from);
    w.PlainKey("from_port");
    w.String(e.from_port);
    w.PlainKey("to");
    w.String(e.to);
    w.PlainKey("to_port");
    w.String(e.to_port);
    w.PlainKey("count");
    w.Uint(e.count);
    w.PlainKey("bytes");
    w.Uint(e.bytes);
    w.PlainKey("errors");
    w.Uint(e.errors);
    w.PlainKey("p50_ns");
    WriteOpt(&w, TransferPercentile(&e, 50));
    w.PlainKey("p99_ns");
    WriteOpt(&w, TransferPercentile(&e, 99));
    w.PlainKey("message_types");
    w.BeginArray();
    for (const auto& m : e.message_types) w.String(m);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.PlainKey("path");
  w.String(GraphPathName(graph.path));
  w.EndObject();
  return out;
}

std::string GraphDot(Graph graph) {
  std::string out = "digraph tracedb {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n"
                    "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  for (auto& [id, n] : graph.nodes) {
    std::string label = n.id + "\n" + std::to_string(n.events) + " events, " + std::to_string(n.errors) +
                        " errors\np50 " + Millis(ExecPercentile(&n, 50)) + ", p99 " +
                        Millis(ExecPercentile(&n, 99));
    out += "  " + DotQuote(n.id) + " [label=" + DotQuote(label) + (n.errors ? ", color=red" : "") + "];\n";
  }
  for (auto& [key, e] : graph.edges) {
    std::string label;
    if (!e.from_port.empty() || !e.to_port.empty()) label += e.from_port + " -> " + e.to_port + "\n";
    label += std::to_string(e.count) + " msgs";
    if (e.bytes) label += ", " + std::to_string(e.bytes) + " B";
    if (e.errors) label += ", " + std::to_string(e.errors) + " errors";
    label += "\np50 " + Millis(TransferPercentile(&e, 50)) + ", p99 " + Millis(TransferPercentile(&e, 99));
    out += "  " + DotQuote(e.from) + " -> " + DotQuote(e.to) + " [label=" + DotQuote(label) +
           (e.errors ? ", color=red" : "") + "];\n";
  }
  return out + "}\n";
}

std::string DependenciesJson(const Graph& graph) {
  std::map<std::pair<std::string, std::string>, uint64_t> calls;
  for (const auto& [key, e] : graph.edges) calls[{e.from, e.to}] += e.count;
  std::string out;
  schema::JsonWriter w(&out);
  w.BeginArray();
  for (const auto& [pc, n] : calls) {
    w.BeginObject();
    w.PlainKey("parent");
    w.String(pc.first);
    w.PlainKey("child");
    w.String(pc.second);
    w.PlainKey("callCount");
    w.Uint(n);
    w.EndObject();
  }
  w.EndArray();
  return out;
}

}  // namespace tracedb::query
